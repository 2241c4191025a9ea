from django.apps import AppConfig


class NegotiationsConfig(AppConfig):
    name = "negotiations"
    verbose_name = "Negotiations"

    def ready(self) -> None:
        # Each feature registers the runners of its background jobs (negotiations/jobs).
        from negotiations.api import jobs as api_jobs  # noqa: F401
        from negotiations.interchange import jobs as interchange_jobs  # noqa: F401
        from negotiations.reliability import jobs as reliability_jobs  # noqa: F401
        from negotiations.sources import jobs as source_jobs  # noqa: F401
