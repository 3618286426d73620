"""B2BCustomer: a B2B customer relationship as a POMDP (Fan 2015, Essay 2).

The env, its task, params, presets, kernels and the (belief, TSLP) planner its reference
uses. The paper's analyses (value of learning, portfolio, HMM fit, Essay 1's example, figures)
are in :mod:`crm_envs.papers.fan2015`.
"""
