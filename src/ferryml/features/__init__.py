"""Features: definitions, transforms, the offline builder, the online path, the feature store."""
