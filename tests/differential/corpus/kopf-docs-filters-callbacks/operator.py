import kopf
from typing import Any

def check_value(value: str | None, /, spec: kopf.Spec, **_: Any) -> bool:
    return value == 'some-value' and spec.get('field') is not None

@kopf.on.create('kopfexamples',
                labels={'some-label': check_value},
                annotations={'some-annotation': check_value})
def my_handler(spec: kopf.Spec, **_: Any) -> None:
    pass

def whole_fn1(name: str, **_: Any) -> bool: return name.startswith('kopf-')
def whole_fn2(spec: kopf.Spec, **_: Any) -> bool: return spec.get('field') == 'value'
def value_fn1(value: str | None, **_: Any) -> bool: return value and value.startswith('some')
def value_fn2(value: str | None, **_: Any) -> bool: return value and value.endswith('label')

@kopf.on.create('kopfexamples',
                when=kopf.all_([whole_fn1, whole_fn2]),
                labels={'somelabel': kopf.all_([value_fn1, value_fn2])})
def create_fn1(**_: Any) -> None:
    pass

@kopf.on.create('kopfexamples',
                when=kopf.any_([whole_fn1, whole_fn2]),
                labels={'somelabel': kopf.any_([value_fn1, value_fn2])})
def create_fn2(**_: Any) -> None:
    pass
