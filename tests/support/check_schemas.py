"""An independent check of deployer's published schemas: validates YAML files
as written with Python's `jsonschema` (Draft 2020-12), the way an editor's
YAML language server would.

    python3 check_schemas.py SCHEMAS_DIR FILE...

Each FILE is checked against the schema its name calls for (stack.yaml,
service.yaml, infra.yaml, microservice.yaml, rds.yaml, sqs.yaml, cache.yaml).
Prints `FILE: ok` or `FILE: <path>: <message>` lines; exit 0 when every file
is valid, 1 otherwise.
"""

import json
import os
import sys

import jsonschema
import yaml


def main():
    schemas = sys.argv[1]
    bad = 0
    for path in sys.argv[2:]:
        name = os.path.basename(path).rsplit(".", 1)[0]
        with open(os.path.join(schemas, f"{name}.schema.json")) as f:
            schema = json.load(f)
        with open(path) as f:
            doc = yaml.safe_load(f)
        errors = sorted(
            jsonschema.Draft202012Validator(schema).iter_errors(doc),
            key=lambda e: list(e.absolute_path),
        )
        if not errors:
            print(f"{path}: ok")
        for e in errors:
            bad += 1
            where = "/".join(str(p) for p in e.absolute_path)
            print(f"{path}: /{where}: {e.message}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
