"""What every layer shares: settings, the warehouse and its ops schema, the sources, Thai text rules, the registry."""
