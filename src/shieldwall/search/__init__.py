"""Search: full text over objects and reports, exact or prefix over observable values."""
