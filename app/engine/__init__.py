"""Everything SpiffWorkflow: specs, the restricted script environment, run, persist, timers.

Nothing outside this package imports SpiffWorkflow.
"""
