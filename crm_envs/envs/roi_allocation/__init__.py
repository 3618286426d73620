"""ROIAllocation: marketing investment across quality drivers (Streukens et al. 2011).

The envs, ADBUDG curves, the path model, presets and the exact allocation. The paper's
sensitivity analysis, tables and figure are in :mod:`crm_envs.papers.streukens2011`.
"""
