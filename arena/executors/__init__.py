"""Executors: where a run's matches are played. Each plays a list of match specs and hands every
finished match to one sink in this process (the store's one writer); see `base.Executor`.

- `local`: this process (one event loop for the whole run; concurrently for LLM agents, in turn
  for offline ones); its `play_specs` is what every executor runs wherever the matches are played
- `workers` (parent side) and `worker_main` (the worker process): worker processes of this
  machine, for offline agents and, with model access in each worker, for LLM agents
- `ray`: the tasks of a Ray cluster
- `remote`: what a worker receives (setup) and sends back (call counters)
- `child`: the one way to start, talk to and end a worker process

`choose.choose(plan, pending)` picks one executor for a run, once. Nothing here is imported by
this package file: each module imports what it uses.
"""
