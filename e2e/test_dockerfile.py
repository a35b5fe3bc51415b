"""test_dockerfile.py - lints the Dockerfile against the tree, since no
container engine runs here to build it: every COPY source exists and is in
the build context, the build stage installs the packages of `make deps` and
runs Makefile targets that exist and have everything they need from what it
COPYs, the runtime stage is Debian bookworm with Debian's HAProxy and the
shared libraries the agent links (and no build tools), it runs as a numeric
non-root user (the one the Deployment names), and its ENTRYPOINT is the
binary the build stage produces.

    python3 e2e/run.py e2e -k dockerfile
"""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
RELEASE_BIN = os.path.join(ROOT, "build", "release", "spoke")
DEPLOYMENT = os.path.join(ROOT, "manifests", "parts", "30-deployment.yaml")

# What the agent links (Makefile PKGS and PKG_LIBS) -> (build package, runtime package).
LINKED = {
    "libcurl": ("libcurl4-openssl-dev", "libcurl4"),
    "jansson": ("libjansson-dev", "libjansson4"),
    "openssl": ("libssl-dev", "libssl3"),
    "yaml-0.1": ("libyaml-dev", "libyaml-0-2"),
    "libcrypt": ("libcrypt-dev", "libcrypt1"),
    "-lev": ("libev-dev", "libev4"),
}
# In debian:bookworm-slim already (required packages).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libcrypt1", "zlib1g"}
BUILD_TOOLS = {"build-essential", "gcc", "g++", "cpp", "make", "clang", "pkg-config",
               "binutils", "libc6-dev", "cppcheck", "clang-format"}


def instructions(path):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, cur = [], ""
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if not cur and (not stripped or stripped.startswith("#")):
                continue
            if cur and stripped.startswith("#"):
                continue
            if stripped.endswith("\\"):
                cur += stripped[:-1] + " "
                continue
            cur += stripped
            word, _, rest = cur.partition(" ")
            out.append((word.upper(), rest.strip()))
            cur = ""
    return out


def stages(instrs):
    """[{"from": image, "name": name, "instrs": [...]}] in order."""
    out = []
    for ins, args in instrs:
        if ins == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            out.append({"from": parts[0], "name": name, "instrs": []})
        elif out:
            out[-1]["instrs"].append((ins, args))
    return out


def copy_args(args):
    """(--from value or None, [sources], destination) of a COPY."""
    words = json.loads(args) if args.startswith("[") else shlex.split(args)
    source_stage = None
    flags = [w for w in words if w.startswith("--")]
    for w in flags:
        if w.startswith("--from="):
            source_stage = w.split("=", 1)[1]
    rest = [w for w in words if not w.startswith("--")]
    return source_stage, rest[:-1], rest[-1]


def apt_installed(stage):
    """The packages a stage's RUN lines install with apt-get install."""
    pkgs = []
    for ins, args in stage["instrs"]:
        if ins != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", args):
            words = shlex.split(cmd)
            if words[:2] == ["apt-get", "install"]:
                pkgs += [w for w in words[2:] if not w.startswith("-")]
    return pkgs


def make_runs(stage):
    """[[make arguments]] of a stage's RUN lines."""
    runs = []
    for ins, args in stage["instrs"]:
        if ins != "RUN":
            continue
        for cmd in re.split(r"&&|;|\|\|", args):
            words = shlex.split(cmd)
            if words and words[0] == "make":
                runs.append(words[1:])
    return runs


def ignored(path, patterns):
    """Whether .dockerignore keeps path (relative, with /) out of the build context."""
    result = False
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        pat = pat.strip("/")
        parts = path.split("/")
        # A pattern matches the path or one of its parent folders.
        hit = any(fnmatch.fnmatchcase("/".join(parts[:i]), pat) or
                  (pat.startswith("**/") and fnmatch.fnmatchcase("/".join(parts[:i]), pat[3:]))
                  or (pat.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], pat[3:]))
                  for i in range(1, len(parts) + 1))
        if hit:
            result = not neg
    return result


def dockerignore_patterns():
    with open(DOCKERIGNORE) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.strip().startswith("#")]


def makefile_text():
    with open(os.path.join(ROOT, "Makefile")) as f:
        return f.read()


def deps_packages():
    with open(os.path.join(ROOT, "scripts", "deps")) as f:
        m = re.search(r"PACKAGES=\(([^)]*)\)", f.read())
    return set(m.group(1).split())


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = stages(instructions(DOCKERFILE))
        cls.build = cls.stages[0]
        cls.runtime = cls.stages[-1]

    def workdir(self, stage):
        wd = [a for i, a in stage["instrs"] if i == "WORKDIR"]
        return wd[-1] if wd else "/"

    def test_two_stages_on_debian_bookworm(self):
        self.assertEqual(len(self.stages), 2)
        self.assertEqual(self.build["from"], "debian:bookworm")
        self.assertIsNotNone(self.build["name"])
        self.assertIn(self.runtime["from"], ("debian:bookworm-slim", "debian:bookworm"))

    def test_copy_sources_exist_in_the_build_context(self):
        patterns = dockerignore_patterns()
        copies = [copy_args(a) for st in self.stages for i, a in st["instrs"]
                  if i in ("COPY", "ADD")]
        local = [(srcs, dest) for frm, srcs, dest in copies if frm is None]
        self.assertTrue(local)
        for srcs, dest in local:
            for src in srcs:
                rel = os.path.normpath(src).lstrip("/")
                self.assertTrue(os.path.exists(os.path.join(ROOT, rel)),
                                f"COPY {src}: no such file")
                self.assertFalse(ignored(rel, patterns), f"COPY {src}: excluded by .dockerignore")
        # Every COPY --from names a stage of this file.
        names = {s["name"] for s in self.stages}
        for frm, _, _ in copies:
            if frm is not None:
                self.assertIn(frm, names)
        # And the context leaves out what must never be in it.
        for p in ("build/release/spoke", ".git/config", ".demo/agent.log"):
            self.assertTrue(ignored(p, patterns), p)

    def test_build_stage_installs_the_packages_of_make_deps(self):
        pkgs = set(apt_installed(self.build))
        self.assertEqual(sorted(pkgs - deps_packages()), [], "not in scripts/deps")
        text = makefile_text()
        linked = re.search(r"^PKGS := (.*)$", text, re.M).group(1).split()
        linked += [w for w in re.search(r"^PKG_LIBS = (.*)$", text, re.M).group(1).split()
                   if w.startswith("-l") and w != "-lpthread"]
        for lib in linked:
            self.assertIn(lib, LINKED, f"the Makefile links {lib}: add it to LINKED and the "
                                       f"Dockerfile")
            self.assertIn(LINKED[lib][0], pkgs)
        self.assertTrue({"build-essential", "pkg-config"} <= pkgs)

    def test_build_stage_runs_make_targets_that_exist(self):
        runs = make_runs(self.build)
        self.assertTrue(runs, "the build stage runs make")
        # A copy of exactly what the stage COPYs: make -n there must find a
        # rule for every target and every prerequisite it needs.
        with tempfile.TemporaryDirectory() as ctx:
            wd = self.workdir(self.build)
            for ins, args in self.build["instrs"]:
                if ins != "COPY":
                    continue
                _, srcs, dest = copy_args(args)
                target = os.path.join(ctx, os.path.relpath(os.path.join(wd, dest), "/"))
                for src in srcs:
                    s = os.path.join(ROOT, os.path.normpath(src))
                    if os.path.isdir(s):
                        shutil.copytree(s, target, dirs_exist_ok=True)
                    else:
                        into = target if dest.endswith("/") else os.path.dirname(target)
                        os.makedirs(into, exist_ok=True)
                        shutil.copy2(s, target if not dest.endswith("/") else into)
            root = os.path.join(ctx, os.path.relpath(wd, "/"))
            for args in runs:
                p = subprocess.run(["make", "-n", *args], cwd=root, capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(p.returncode, 0, f"make -n {' '.join(args)}: {p.stderr}")
                self.assertIn("-o build/", p.stdout, "make -n would build the agent")

    def test_runtime_stage_has_haproxy_and_the_agent_libraries(self):
        pkgs = set(apt_installed(self.runtime))
        self.assertIn("haproxy", pkgs)
        self.assertIn("ca-certificates", pkgs)
        for _, runtime_pkg in LINKED.values():
            self.assertIn(runtime_pkg, pkgs)
        # Every library the release binary actually needs comes from one of them.
        p = subprocess.run(["readelf", "-d", RELEASE_BIN], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout)
        self.assertIn("libcurl.so.4", needed)
        for lib in needed:
            q = subprocess.run(["dpkg", "-S", f"*/{lib}"], capture_output=True, text=True,
                               timeout=30)
            owners = {line.split(":")[0] for line in q.stdout.splitlines()}
            self.assertTrue(owners & (pkgs | BASE_PACKAGES),
                            f"{lib} (from {sorted(owners)}) is not installed in the image")

    def test_runtime_stage_has_no_build_tools(self):
        for pkg in apt_installed(self.runtime):
            self.assertNotIn(pkg, BUILD_TOOLS)
            self.assertFalse(pkg.endswith("-dev"), pkg)
        for ins, args in self.runtime["instrs"]:
            if ins == "RUN":
                self.assertNotRegex(args, r"\b(make|gcc|cc|clang)\b")
            if ins in ("COPY", "ADD"):
                self.assertIsNotNone(copy_args(args)[0], f"{ins} {args}: sources in the image")

    def test_runs_as_the_numeric_non_root_user_of_the_deployment(self):
        users = [a for i, a in self.runtime["instrs"] if i == "USER"]
        self.assertTrue(users, "USER in the runtime stage")
        uid, _, gid = users[-1].partition(":")
        self.assertTrue(uid.isdigit() and int(uid) > 0, f"USER {users[-1]}: numeric, not root")
        with open(DEPLOYMENT) as f:
            text = f.read()
        self.assertEqual(re.search(r"runAsUser: (\d+)", text).group(1), uid)
        if gid:
            self.assertEqual(re.search(r"runAsGroup: (\d+)", text).group(1), gid)

    def test_entrypoint_is_the_binary_the_build_stage_makes(self):
        entry = [a for i, a in self.runtime["instrs"] if i == "ENTRYPOINT"]
        self.assertEqual(len(entry), 1)
        argv = json.loads(entry[0])  # exec form: signals reach the agent
        self.assertEqual(argv, ["/usr/local/bin/spoke"])
        copies = [copy_args(a) for i, a in self.runtime["instrs"] if i == "COPY"]
        binary = [(frm, srcs) for frm, srcs, dest in copies if dest == argv[0]]
        self.assertEqual(len(binary), 1, f"one COPY puts {argv[0]} in place")
        frm, (src,) = binary[0]
        self.assertEqual(frm, self.build["name"])
        rel = os.path.relpath(src, self.workdir(self.build))
        targets = [a for args in make_runs(self.build) for a in args
                   if not a.startswith("-") and "=" not in a]
        self.assertIn(rel, targets, "the COPY takes what make built")
        self.assertEqual(rel, os.path.relpath(RELEASE_BIN, ROOT))


if __name__ == "__main__":
    unittest.main()
