"""Bonaccorso, customer journeys as an MDP (env CustomerJourney).

G. Bonaccorso, *Customer journeys as Markov Decision Processes* (article). The env, its
params, presets, the exact model and the renderings are in
:mod:`crm_envs.envs.customer_journey`; this package holds the paper's analyses:

* :mod:`~crm_envs.papers.bonaccorso.fit` -- logged journeys: simulating them with the env's
  batched kernel (the paper simulates 25,000) and estimating the journey model from them by
  frequency counts.
* :mod:`~crm_envs.papers.bonaccorso.figures` -- the paper's policy figure (each cell's type,
  value and best move).
* :mod:`~crm_envs.papers.bonaccorso.reproduce` -- the paper's optimal journeys recomputed.
"""
