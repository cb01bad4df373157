"""The regulation's data that administrators keep: scoring schemes and the working-day calendar."""
