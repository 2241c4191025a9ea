from django.core.management.base import BaseCommand

from negotiations.demo import DEMO_SLUG, load_demo


class Command(BaseCommand):
    help = "Load the demo study (slug 'demo') and its users; running it again changes nothing."

    def handle(self, *args: object, **options: object) -> None:
        result = load_demo()
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded the demo study '{DEMO_SLUG}': {result.n_sources} sources, "
                    f"{result.n_codings} codings."
                )
            )
        else:
            self.stdout.write(
                f"The demo study '{DEMO_SLUG}' is already loaded ({result.n_sources} sources, "
                f"{result.n_codings} codings); nothing changed."
            )
        self.stdout.write("Demo logins (username / password / role):")
        for login in result.logins:
            self.stdout.write(f"  {login.username:<12} {login.password:<20} {login.role}")
