"""Fan (2015), B2B customer relationships as a POMDP (both essays); env ``B2BCustomer``.

J. Fan (2015), *A Double Loop Learning Model for Integrated and Proactive Customer
Relationship Management*, PhD dissertation. The env, its params, presets and the (belief,
TSLP) planner are in :mod:`crm_envs.envs.b2b_customer`; this package holds the paper's
analyses:

* :mod:`~crm_envs.papers.fan2015.essay1` -- Essay 1's numeric example of the value of
  learning (section 1.4.2) as a ``TabularPOMDP``, and its computed counterparts.
* :mod:`~crm_envs.papers.fan2015.fit` -- maximum-likelihood fit of Essay 2's HMM from a
  customer x month panel (section 2.2.4), and panels simulated from the env.
* :mod:`~crm_envs.papers.fan2015.customers` -- customer covariates to per-customer
  parameters (Table 3), and a synthetic customer base.
* :mod:`~crm_envs.papers.fan2015.value_of_learning` -- simulated sequences of a planner's
  policy against the true state (Appendix B) and the value of learning (Figure 15).
* :mod:`~crm_envs.papers.fan2015.portfolio` -- DCV and value of learning of a whole
  customer base (exact and simulated) and its relationship stages (Figure 18).
* :mod:`~crm_envs.papers.fan2015.table6` -- what the four Table 6 customers show beyond
  their calibration: Figure 15's sign change, Figures 13/17's policy features, Figure 18's
  stages and the value of tracking promotions (Table 5).
* :mod:`~crm_envs.papers.fan2015.figures` -- Figures 13, 14, 15 and 18, one call each.
* :mod:`~crm_envs.papers.fan2015.reproduce` -- the published figures recomputed (Essay 1's
  example, Table 4, Tables 5 and 6 and Figures 13, 15, 17 and 18).
"""
