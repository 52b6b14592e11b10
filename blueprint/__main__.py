from blueprint.cli import entry

entry()
