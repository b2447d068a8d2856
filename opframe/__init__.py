"""opframe: a Kopf-style Kubernetes operator framework."""
