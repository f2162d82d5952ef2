"""The Kubernetes files of the course, checked as far as a machine without a cluster can:

- the Zero to JupyterHub values (``hub/k8s/values.yaml``, ``site.example.yaml``) and ngshare's
  chart values use only keys those charts document (lists derived from the charts, in the repo);
- the spawn hook in ``hub.extraConfig`` gives instructors a grading server and students the
  settings without Formgrader, when JupyterHub loads it;
- the course image installs exactly ``requirements.txt`` (plus the hub's user packages, with it
  as constraints, and this repository without dependencies); ngshare's image exactly the hub pins;
- the values agree with each other (ngshare's address, port, labels, token, versions).
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from conftest import ROOT

K8S = ROOT / "hub" / "k8s"
sys.path.insert(0, str(K8S))
import chart_keys  # noqa: E402

Z2JH_KEYS = chart_keys.read_keys(K8S / "z2jh-4.4.0-keys.txt")
NGSHARE_KEYS = chart_keys.read_keys(K8S / "ngshare-chart-keys.txt")


def load(name: str) -> dict:
    return yaml.safe_load((K8S / name).read_text(encoding="utf-8"))


def requirement_pins(path: Path) -> dict[str, str]:
    """name (normalised) -> version of every ``name==version`` line."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line).groups()
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


# --- the key lists and their matcher -----------------------------------------------------------
def test_key_lists_name_their_source():
    for name, source in (
        ("z2jh-4.4.0-keys.txt", "jupyterhub/values.schema.yaml"),
        ("ngshare-chart-keys.txt", "helmchart/ngshare/values.yaml"),
    ):
        head = (K8S / name).read_text(encoding="utf-8").split("\n\n")[0]
        assert source in head and "commit" in head and "Derived with" in head, name
    assert len(Z2JH_KEYS) > 400 and "singleuser.memory.guarantee" in Z2JH_KEYS
    assert "ngshare.hub_api_token" in NGSHARE_KEYS


def test_matcher_on_a_small_schema():
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "a": {"type": "object", "additionalProperties": False, "properties": {"b": {"type": "string"}}},
            "free": {"type": "object", "additionalProperties": True},
            "labels": {"type": "object", "patternProperties": {".*": {"type": "string"}}},
            "files": {
                "type": "object",
                "additionalProperties": {"type": "object", "properties": {"mode": {}}},
            },
            "items": {"type": "array"},
        },
    }
    keys = chart_keys.derive(schema)
    assert keys == [
        "a",
        "a.b",
        "free",
        "free.**",
        "labels",
        "labels.*",
        "files",
        "files.*",
        "files.*.mode",
        "items",
    ]
    values = {
        "a": {"b": 1, "c": 2},
        "free": {"x": {"y": 1}},
        "labels": {"k": "v"},
        "files": {"f": {"mode": 1, "size": 2}},
        "items": [{"z": 1}],
        "typo": 1,
    }
    assert chart_keys.undocumented(values, keys) == ["a.c", "files.f.size", "typo"]


def test_matcher_on_chart_defaults():
    assert chart_keys.derive_from_values({"a": {"b": 1, "m": {}}, "l": []}) == [
        "a",
        "a.b",
        "a.m",
        "a.m.**",
        "l",
    ]


# --- the values --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["values.yaml", "site.example.yaml"])
def test_z2jh_values_use_documented_keys_only(name):
    values = load(name)
    assert chart_keys.undocumented(values, Z2JH_KEYS) == []
    # hub.services passes anything through; its entries may use only the fields the chart describes
    fields = {k.split(".")[2] for k in Z2JH_KEYS if k.startswith("hub.services.") and k.count(".") == 2} - {
        "**"
    }
    for service, spec in values.get("hub", {}).get("services", {}).items():
        assert set(spec) <= fields, f"hub.services.{service}: {set(spec) - fields} not among {sorted(fields)}"


@pytest.mark.parametrize("name", ["ngshare-values.yaml", "ngshare-site.example.yaml"])
def test_ngshare_values_use_documented_keys_only(name):
    assert chart_keys.undocumented(load(name), NGSHARE_KEYS) == []


def test_values_agree_with_each_other():
    values, site = load("values.yaml"), load("site.example.yaml")
    ngshare, ngshare_site = load("ngshare-values.yaml"), load("ngshare-site.example.yaml")
    port = ngshare["deployment"]["port"]
    service_url = values["hub"]["services"]["ngshare"]["url"]
    assert service_url == f"http://ngshare:{port}"  # release "ngshare" of chart "ngshare": Service "ngshare"
    assert values["singleuser"]["extraEnv"]["DLCOURSE_NGSHARE_URL"] == f"{service_url}/services/ngshare"
    (rule,) = values["singleuser"]["networkPolicy"]["egress"]
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
    assert rule["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ngshare"}}}]
    assert site["hub"]["services"]["ngshare"]["apiToken"] == ngshare_site["ngshare"]["hub_api_token"]
    assert ngshare["pvc"]["accessModes"] == ["ReadWriteOnce"] and ngshare["deployment"]["replicaCount"] == 1
    # the user name the LTI authenticator takes is a valid student id of the course's tools
    assert values["hub"]["config"]["LTI13Authenticator"]["username_key"].startswith("custom_")


def test_versions_agree():
    """The hub, the users' servers and the chart run one JupyterHub; ngshare has SQLAlchemy 1.4."""
    hub = requirement_pins(ROOT / "hub" / "requirements-hub.txt")
    user = requirement_pins(ROOT / "hub" / "requirements-user.txt")
    course = requirement_pins(ROOT / "requirements.txt")
    assert hub["jupyterhub"] == user["jupyterhub"]
    assert f"(JupyterHub {hub['jupyterhub']})" in (K8S / "z2jh-4.4.0-keys.txt").read_text().splitlines()[0]
    assert "--version 4.4.0" in (K8S / "values.yaml").read_text()
    assert int(hub["sqlalchemy"].split(".")[0]) < 2 and hub["ngshare"] == "0.6.0"
    assert not set(user) & set(course), "a hub package must not re-pin the course environment"
    ngshare_values = (K8S / "ngshare-values.yaml").read_text()
    assert f'tag: "{hub["ngshare"]}-sqlalchemy{hub["sqlalchemy"].rsplit(".", 1)[0]}"' in ngshare_values


# --- the spawn hook ------------------------------------------------------------------------------
class FakeSpawner:
    def __init__(self, roles: list[str], groups: list[str]) -> None:
        self.environment: dict[str, str] = {}
        self.container_security_context = {"allowPrivilegeEscalation": False}
        self.mem_limit = self.cpu_limit = None
        self._state = {"https://purl.imsglobal.org/spec/lti/claim/roles": roles}
        self.user = SimpleNamespace(
            groups=[SimpleNamespace(name=g) for g in groups], get_auth_state=self._auth_state
        )

    async def _auth_state(self):
        return self._state


def load_hook(tmp_path: Path):
    from traitlets.config.loader import PyFileConfigLoader

    snippet = load("values.yaml")["hub"]["extraConfig"]["dlcourse-roles.py"]
    (tmp_path / "extra.py").write_text(snippet, encoding="utf-8")
    config = PyFileConfigLoader("extra.py", path=str(tmp_path)).load_config()  # as JupyterHub does
    return config.KubeSpawner.pre_spawn_hook


@pytest.mark.parametrize(
    "roles, groups, grader",
    [
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"], [], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant"], [], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], ["instructors"], True),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], [], False),
        ([], [], False),
    ],
)
def test_spawn_hook_tells_graders_from_students(tmp_path, roles, groups, grader):
    spawner = FakeSpawner(roles, groups)
    asyncio.run(load_hook(tmp_path)(spawner))
    if grader:
        assert spawner.mem_limit == "10G" and spawner.cpu_limit == 4.0
        assert spawner.container_security_context == {
            "allowPrivilegeEscalation": False,
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        }
        assert "JUPYTER_CONFIG_PATH" not in spawner.environment
    else:
        assert spawner.mem_limit is None
        assert spawner.environment == {"JUPYTER_CONFIG_PATH": "/etc/dlcourse/student"}
    # students' settings are in the image where the hook says
    assert "COPY hub/etc/student /etc/dlcourse/student" in (ROOT / "hub" / "Dockerfile").read_text()


def test_authenticator_settings_exist():
    """The LTI 1.3 authenticator class and every setting the values give it, in the hub's pins."""
    python = ROOT / ".make" / "hub" / "venv" / "bin" / "python"
    if not python.exists():
        if os.environ.get("DLCOURSE_REQUIRE_HUB") == "1":
            pytest.fail("the hub environment is missing (make hub-setup) and DLCOURSE_REQUIRE_HUB=1")
        pytest.skip("the hub environment is missing (make hub-setup)")
    config = {**load("values.yaml")["hub"]["config"]}
    for cls, settings in load("site.example.yaml")["hub"]["config"].items():
        config[cls] = {**config.get(cls, {}), **settings}
    code = (
        "import importlib, json, sys\n"
        "from jupyterhub.app import JupyterHub\nfrom jupyterhub.auth import Authenticator\n"
        "cfg = json.loads(sys.argv[1])\n"
        "mod, _, name = cfg['JupyterHub']['authenticator_class'].rpartition('.')\n"
        "lti = getattr(importlib.import_module(mod), name)\n"
        "classes = {'JupyterHub': JupyterHub, 'Authenticator': Authenticator, name: lti}\n"
        "missing = [f'{c}.{t}' for c, s in cfg.items() for t in s\n"
        "           if not classes[c].class_traits(config=True).get(t)]\n"
        "print(json.dumps(missing))\n"
    )
    import json

    out = subprocess.run([str(python), "-c", code, json.dumps(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []


# --- the images ------------------------------------------------------------------------------
def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def pip_installs(instructions) -> list[list[str]]:
    """The arguments of every ``pip install`` in RUN instructions."""
    installs = []
    for word, rest in instructions:
        if word == "RUN":
            for command in re.split(r"&&|;", rest):
                argv = shlex.split(command)
                if argv[:2] == ["pip", "install"]:
                    installs.append([a for a in argv[2:] if a != "--no-cache-dir"])
    return installs


def copies(instructions) -> dict[str, str]:
    return {
        src: dest
        for word, rest in instructions
        if word == "COPY"
        for src, dest in [(" ".join(rest.split()[:-1]), rest.split()[-1])]
    }


def test_course_image_installs_exactly_the_requirements():
    steps = dockerfile_instructions(ROOT / "hub" / "Dockerfile")
    copied = copies(steps)
    assert copied["requirements.txt"] == "/opt/dlcourse/requirements.txt"
    assert copied["hub/requirements-user.txt"] == "/opt/dlcourse/hub/requirements-user.txt"
    assert pip_installs(steps) == [
        ["--extra-index-url", "${TORCH_INDEX}", "-r", "/opt/dlcourse/requirements.txt"],
        ["-c", "/opt/dlcourse/requirements.txt", "-r", "/opt/dlcourse/hub/requirements-user.txt"],
        ["--no-deps", "/opt/dlcourse"],
    ]
    run = " ".join(rest for word, rest in steps if word == "RUN")
    assert "pip check" in run
    # every file the image copies is in the repository and not excluded from the build context
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for src in copied:
        for part in src.split():
            assert (ROOT / part).exists(), part
            assert not any(part == i or part.startswith(i.rstrip("*") + "/") for i in ignored), part
    # the package the image installs includes the hub's exchange
    import setuptools

    found = setuptools.find_packages(str(ROOT), include=["dlcourse*"])
    assert "dlcourse.hub" in found and 'include = ["dlcourse*"]' in (ROOT / "pyproject.toml").read_text()


def test_ngshare_image_installs_exactly_the_hub_pins():
    steps = dockerfile_instructions(ROOT / "hub" / "ngshare.Dockerfile")
    assert copies(steps)["hub/requirements-hub.txt"] == "/opt/ngshare/requirements-hub.txt"
    assert pip_installs(steps) == [["-r", "/opt/ngshare/requirements-hub.txt"]]
    entry = next(rest for word, rest in steps if word == "ENTRYPOINT")
    assert "ngshare_service.py" in entry and "--loopback" not in entry


# --- the book page ---------------------------------------------------------------------------
def test_book_page_is_listed_and_names_real_files():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text(encoding="utf-8"))
    part = next(p for p in toc["parts"] if p["caption"] == "For instructors")
    assert {"file": "book/jupyterhub"} in part["chapters"]
    assert "{doc}`jupyterhub`" in (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    page = (ROOT / "book" / "jupyterhub.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:hub|tests|bench|dlcourse.hub)/[\w./-]+)`", page))
    assert len(named) > 15
    assert [p for p in sorted(named) if not (ROOT / p).exists()] == []
    # the numbers the page and the values state are the same
    values = load("values.yaml")["singleuser"]
    assert f"guarantee {values['memory']['guarantee']}, limit {values['memory']['limit']}" in page
