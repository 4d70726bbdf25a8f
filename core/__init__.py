"""Settings, database access, migrations and domain types. Imports nothing else of the project."""
