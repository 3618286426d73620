"""Streukens et al. (2011), return on marketing investment across quality drivers (ROIAllocation).

S. Streukens, S. van Hoesel, K. de Ruyter (2011), *Return on marketing investments in B2B
customer relationships: A decision-making and optimization approach*, Industrial Marketing
Management 40(1), 149-161. The envs, the ADBUDG curves, the path model, the presets and the
exact allocation they are calibrated with are in :mod:`crm_envs.envs.roi_allocation`; this
package holds the paper's analyses:

* :mod:`~crm_envs.papers.streukens2011.sensitivity` -- the nominal-range sensitivity analysis
  of the investment profit to each path (section 4.6, Table 6).
* :mod:`~crm_envs.papers.streukens2011.tables` -- Tables 5 and 6 recomputed beside the
  published figures, as Markdown.
* :mod:`~crm_envs.papers.streukens2011.figures` -- Figure 2: investment effort against
  revenue and profit.
* :mod:`~crm_envs.papers.streukens2011.reproduce` -- Table 5's figures recomputed.
"""
