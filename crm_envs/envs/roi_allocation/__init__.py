"""ROIAllocation: marketing investment across quality drivers (Streukens et al. 2011)."""
