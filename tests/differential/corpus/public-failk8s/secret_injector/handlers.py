from . import secret_injector_config
from . import secret
