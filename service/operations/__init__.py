"""What the service does, independent of HTTP: the API's routers and the CLI's local mode both call
these functions, which take a :class:`~service.context.ServiceContext`, return ``*Public`` schemas
and raise :mod:`service.errors` (or :mod:`metaknowledge` errors) for the caller to translate."""
