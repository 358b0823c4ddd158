"""Document requests and spot checks: the appraisers ask, the organisation uploads files that
are kept outside the web root and served only to the audit's appraisers and chair."""
