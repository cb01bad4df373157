"""Shared helpers for driving the API in tests."""

from __future__ import annotations

STAFF = [("I.1", 5), ("I.2", 5), ("I.3", 5), ("I.4", 5), ("II.1", 25), ("II.2", 25), ("II.3", 20)]
LEADER = [("I.1", 5), ("I.2", 5), ("I.3", 5), ("I.4", 5), ("II.1", 30), ("II.2", 25), ("II.3", 15)]
ND335 = [("I.1", 10), ("I.2", 10), ("I.3", 10), ("II.1", 30), ("II.2", 25), ("II.3", 15)]


# Whose direct manager is also their decider: their record skips the manager's review and goes straight
# to the head (the superior decider for the agency head), whose step is `review_by_decider`.
STRAIGHT_TO_DECIDER = {"tptc", "tpcc", "gd", "admin"}


def review_step(subject: str) -> str:
    return "review_by_decider" if subject in STRAIGHT_TO_DECIDER else "review"


def scores_for(total: float, leader: bool = False, table: list | None = None) -> dict:
    """Scores (default scheme unless `table` is given) that add up to `total` (0..100, steps of 0.5)."""
    table = table or (LEADER if leader else STAFF)
    deficit = sum(m for _, m in table) - total
    out = {}
    for code, maximum in table:
        take = min(maximum, max(deficit, 0))
        out[code] = maximum - take
        deficit -= take
    bonus = max(0.0, -deficit)
    return {"scores": out, "bonus": bonus, **({"bonus_reason": "Sáng kiến cải tiến thủ tục"} if bonus else {})}


class Api:
    def __init__(self, client, username, password="DanhGia@2026"):
        self.client = client
        resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert resp.status_code == 200, resp.get_json()
        self.headers = {"Authorization": f"Bearer {resp.get_json()['token']}"}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(f"/api/v1{path}", headers=self.headers, json=json, **kw)

    def tasks(self, step=None):
        resp = self.get("/tasks")
        assert resp.status_code == 200
        return [t for t in resp.get_json() if step is None or t["step"] == step]

    def task_for(self, subject, step):
        found = [t for t in self.tasks(step) if t["subject"]["username"] == subject]
        assert len(found) == 1, f"expected one {step} task for {subject}, got {found}"
        return found[0]

    def complete(self, task_id, data, status=200):
        resp = self.post(f"/tasks/{task_id}/complete", json={"data": data})
        assert resp.status_code == status, resp.get_json()
        return resp.get_json()
