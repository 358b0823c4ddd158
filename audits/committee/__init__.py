"""The Appraisal Committee: subcommittee chairs and pools of appraisers, appraisers'
conflict-of-interest declarations per audit, and the chairs' assignments of appraisers."""
