import kopf

@kopf.on.create('kopfexamples')
def create_fn(body, **_):
    kopf.event(body, type='SomeType', reason='SomeReason',
               message='Some message', backoffs=[1, 2, 5])
