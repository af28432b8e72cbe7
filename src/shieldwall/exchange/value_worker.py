"""`python -m shieldwall.exchange.value_worker`: one worker process of a large value export
(value_export.serve), a module of its own so that what it answers is pickled under
value_export's names, not __main__'s."""

from shieldwall.exchange.value_export import serve

if __name__ == "__main__":
    serve()
