"""selection.py - labelSelector and fieldSelector parsing and matching.

Label selectors take the real grammar: `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
`k notin (a,b)`, `k` (exists), `!k` (does not exist), `k>N`, `k<N`, joined by
commas. Field selectors take `path=v`, `path==v`, `path!=v`; metadata.name and
metadata.namespace as on every real resource, and any other dotted path into
the object (the real server allows a few per kind; this one is more lenient).
"""
import re

from apierrors import bad_request

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"[-A-Za-z0-9_.]*"
_EQ = re.compile(rf"^({_KEY})\s*(==|!=|=|>|<)\s*({_VALUE})$")
_SET = re.compile(rf"^({_KEY})\s+(in|notin)\s*\(([^()]*)\)$")
_EXISTS = re.compile(rf"^(!?)\s*({_KEY})$")


def _split_terms(text):
    terms, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    terms.append("".join(cur))
    return [t.strip() for t in terms]


class LabelSelector:
    def __init__(self, text):
        self.reqs = []
        text = (text or "").strip()
        if not text:
            return
        for term in _split_terms(text):
            self.reqs.append(self._parse(term, text))

    @staticmethod
    def _parse(term, whole):
        m = _SET.match(term)
        if m:
            values = {v.strip() for v in m.group(4).split(",")}
            if not all(re.fullmatch(_VALUE, v) for v in values):
                raise bad_request(f'unable to parse requirement: invalid label value in "{term}"')
            return (m.group(1), m.group(3), values)
        m = _EQ.match(term)
        if m:
            op, value = m.group(3), m.group(4)
            if op in (">", "<") and not re.fullmatch(r"-?\d+", value):
                raise bad_request(f'unable to parse requirement: "{term}": {op} needs an integer')
            return (m.group(1), "=" if op == "==" else op, value)
        m = _EXISTS.match(term)
        if m:
            return (m.group(2), "!exists" if m.group(1) else "exists", None)
        raise bad_request(f'unable to parse requirement: found "{term}" in label selector '
                          f'"{whole}"')

    def matches(self, obj):
        if not self.reqs:
            return True
        labels = (obj.get("metadata") or {}).get("labels") or {}
        for key, op, value in self.reqs:
            have = key in labels
            v = labels.get(key)
            if op == "=" and v != value:
                return False
            if op == "!=" and v == value:
                return False
            if op == "in" and v not in value:
                return False
            if op == "notin" and have and v in value:
                return False
            if op == "exists" and not have:
                return False
            if op == "!exists" and have:
                return False
            if op in (">", "<"):
                try:
                    n = int(v)
                except (TypeError, ValueError):
                    return False
                if (op == ">" and not n > int(value)) or (op == "<" and not n < int(value)):
                    return False
        return True


def field_value(obj, path):
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


class FieldSelector:
    def __init__(self, text):
        self.reqs = []
        for term in (t.strip() for t in (text or "").split(",")):
            if not term:
                continue
            m = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)", term)
            if not m:
                raise bad_request(f'invalid field selector: "{term}"')
            self.reqs.append((m.group(1), m.group(2) != "!=", m.group(3).strip()))

    def name(self):
        """The single name asked for by metadata.name=X, if that is the whole selector."""
        if len(self.reqs) == 1 and self.reqs[0][0] == "metadata.name" and self.reqs[0][1]:
            return self.reqs[0][2]
        return None

    def matches(self, obj):
        return all((field_value(obj, path) == value) == equal for path, equal, value in self.reqs)


class Selector:
    """Both selectors of one request."""

    def __init__(self, labels="", fields=""):
        self.labels = LabelSelector(labels)
        self.fields = FieldSelector(fields)

    @property
    def empty(self):
        return not self.labels.reqs and not self.fields.reqs

    def matches(self, obj):
        return self.labels.matches(obj) and self.fields.matches(obj)
