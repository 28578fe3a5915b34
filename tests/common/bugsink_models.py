"""Bugsink's own models, for the Sentry tests (tests/common/bugsink.rs) and
scripts/bugsink-screenshot.sh: a project made, a user made, the events stored read back.

Run with the Bugsink venv's python, DJANGO_SETTINGS_MODULE naming the generated configuration
and that configuration's folder on PYTHONPATH:

    python bugsink_models.py project NAME             -> {"id": ..., "dsn": ...}
    python bugsink_models.py user NAME PASSWORD [PROJECT_ID]   (a superuser, member of the project)
    python bugsink_models.py events PROJECT_ID        -> [{"event_id", "level", "data", "issue", "tags"}, ...]
    python bugsink_models.py ids FILE                 -> {"code_id": ..., "debug_id": ...}

`ids` is what Sentry's own library (symbolic, which Bugsink installs) reads from an ELF file.

Each answer is one line of JSON on stdout.
"""

import json
import sys

import django

django.setup()

from events.models import Event  # noqa: E402
from projects.models import Project, ProjectMembership, ProjectRole  # noqa: E402
from users.models import User  # noqa: E402


def project(name):
    made = Project.objects.create(name=name, slug=name)
    return {"id": made.id, "dsn": made.dsn}


def user(name, password, project_id=None):
    made = User.objects.create_superuser(username=name, email="", password=password)
    if project_id is not None:
        ProjectMembership.objects.create(
            project_id=int(project_id), user=made, role=ProjectRole.ADMIN, accepted=True)
    return {"id": made.id}


def events(project_id):
    """The project's events in the order Bugsink digested them: the event data as stored, the
    fields Bugsink derived from it, its issue and its tags."""
    out = []
    for event in Event.objects.filter(project_id=int(project_id)).order_by("digest_order"):
        issue = event.issue
        out.append({
            "event_id": event.event_id.hex,
            "level": event.level,
            "platform": event.platform,
            "timestamp": event.timestamp.isoformat(),
            "release": event.release,
            "environment": event.environment,
            "server_name": event.server_name,
            "title": event.title(),
            "data": event.get_parsed_data(),
            "issue": {
                "id": str(issue.id),
                "title": issue.title(),
                "calculated_type": issue.calculated_type,
                "calculated_value": issue.calculated_value,
                "last_frame_function": issue.last_frame_function,
                "last_frame_filename": issue.last_frame_filename,
                "digested_event_count": issue.digested_event_count,
                "grouping_key": event.grouping.grouping_key,
            },
            "tags": {tag.value.key.key: tag.value.value for tag in event.tags.all()},
        })
    return out


def ids(path):
    """The code id and debug id symbolic (Sentry's library) gives the ELF file at `path`."""
    import symbolic

    found = next(symbolic.Archive.open(path).iter_objects())
    return {"code_id": found.code_id, "debug_id": found.debug_id}


def main(argv):
    commands = {"project": project, "user": user, "events": events, "ids": ids}
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit("usage: bugsink_models.py project NAME | user NAME PASSWORD [PROJECT_ID] | events PROJECT_ID"
                 " | ids FILE")
    print(json.dumps(commands[argv[1]](*argv[2:])))


if __name__ == "__main__":
    main(sys.argv)
