"""The base of every pydantic model of the service (a module of its own: roomsnap.models and
roomsnap.clearance both build on it, and models imports clearance)."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Every model of the service. Its validator and serializer are built when it is first used, not
    at import: a container builds only the models its requests use, and the API's cold start does not
    pay for all of them (about a quarter of its import time)."""

    model_config = ConfigDict(defer_build=True)
