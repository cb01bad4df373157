"""Use cases, no HTTP. Routes call these; these call the engine and the models.

Grouped by what they are about (docs/architecture.md, "Where code lives"): `evaluation`, `organisation`,
`regulation`, `reporting`, `process_design`, `messaging`; at this level, what every package uses:
`transaction` (the only place that commits), `unit_of_work`, `errors`, `audit`, `bulk_insert`,
`reference_cache`, `metrics`."""
