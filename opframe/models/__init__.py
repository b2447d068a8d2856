"""Custom resources declared as pydantic models: the resource class, its CRD, typed kwargs."""
