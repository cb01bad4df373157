"""Use cases, no HTTP. Routes call these; these call the engine and the models."""
