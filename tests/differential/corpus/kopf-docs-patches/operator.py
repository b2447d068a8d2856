import functools
import kopf
from typing import Any

@kopf.on.create('kopfexamples')
def ensure_defaults(spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
    if 'greeting' not in spec:
        patch.spec['greeting'] = 'hello'
    patch.status['state'] = 'initialized'

@kopf.on.update('kopfexamples')
def cleanup_obsolete_fields(patch: kopf.Patch, **_: Any) -> None:
    patch.spec['obsoleteField'] = None  # deletes the field
    patch.status['phase'] = 'updated'   # overwrites the value

def set_label(body: kopf.RawBody, /, name: str, value: str) -> None:
    body.setdefault('metadata', {}).setdefault('labels', {})[name] = value

@kopf.on.create('kopfexamples')
def create_fn(patch: kopf.Patch, **_: Any) -> None:
    patch.fns.append(functools.partial(set_label, name='my-label', value='my-value'))
