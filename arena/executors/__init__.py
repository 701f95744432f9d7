"""Executors: where a run's matches are played. Each plays a list of match specs and hands every
finished match to one sink in this process (the store's one writer); see `base.Executor`.

- `local`: this process (one event loop; concurrently for LLM agents, in turn for offline ones)
- `workers`: worker processes of this machine (offline agents; LLM agents with model access in
  each worker)
- `ray`: the tasks of a Ray cluster

`choose(plan)` picks one for a run, once.
"""
