"""Incident assistance: a member asks for help, the partnership answers, with clocks everyone
taking part can see. Requests, coordinators, responders and their taskings, tasks, evidence,
links to intel, clocks with escalation, and figures; who sees what is the policy's incident rule."""
