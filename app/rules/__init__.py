"""Pure domain rules of the regulation (no Flask, no database, no engine).

Both the BPMN script helpers and the services call these, so the stored level is
computed in exactly one place.
"""
