"""Audit reports: the appraisers' draft and submission, notes, the chair's return or sign-off."""
