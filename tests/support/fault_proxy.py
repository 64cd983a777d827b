"""A fault-injecting HTTP proxy on loopback, in front of moto, for the outage
tests (tests/backend.rs, `outages`): S3 and DynamoDB requests pass through
unless a rule in the rules file (JSON, re-read on every request, so a test
can change it between commands) matches them.

    python3 fault_proxy.py PORT UPSTREAM_PORT RULES_FILE LOG_FILE

A rule: {"method": "PUT", "path": "regex", "target": "DynamoDB_20120810.PutItem",
"fault": "503" | "500" | "throttle" | "reset" | "hang", "skip": K, "times": N}
matches requests by method, path (regex search on the path and query) and
DynamoDB's X-Amz-Target; lets the first K matches through, then fails the next
N (-1: all). Faults answer as the real services do: S3's 503 SlowDown and 500
InternalError XML, DynamoDB's 400 ThrottlingException JSON; `reset` closes the
connection without an answer; `hang` answers nothing for 60 s.

Every request is logged as `METHOD PATH TARGET -> STATUS|FAULT`.

With a fifth argument, a DEPLOYMENTS file (JSON, re-read on every request),
the proxy also answers the ECS service-deployment API that moto lacks, as the
Amazon ECS API Reference describes it, and passes every other request on:

- ListServiceDeployments (API_ListServiceDeployments): `service` is required
  (InvalidParameterException otherwise); `cluster` and `status` filter;
  `createdAt` {after, before} filters on the deployment's creation time;
  answers {"serviceDeployments": [ServiceDeploymentBrief]} with the fields of
  API_ServiceDeploymentBrief (serviceDeploymentArn, serviceArn, clusterArn,
  createdAt, startedAt, finishedAt, targetServiceRevisionArn, status,
  statusReason). A service the file does not know is ServiceNotFoundException.
- DescribeServiceDeployments (API_DescribeServiceDeployments):
  `serviceDeploymentArns` is required, 1 to 20 of them; answers
  {"serviceDeployments": [ServiceDeployment], "failures": [{arn, reason:
  "MISSING"}]}.
- StopServiceDeployment (API_StopServiceDeployment): `serviceDeploymentArn`
  is required and `stopType` is ABORT or ROLLBACK; an unknown ARN is
  ServiceDeploymentNotFoundException; a deployment that is not PENDING,
  IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED or ROLLBACK_IN_PROGRESS
  cannot be stopped (ConflictException; "Stopping Amazon ECS service
  deployments" lists the states that can). A stop with ROLLBACK makes the
  deployment ROLLBACK_REQUESTED, then ROLLBACK_SUCCESSFUL on the next
  describe, with `rollback.reason` saying a stop was requested (words of this
  responder, not ECS's).

- GetProducts (AWS Price List Query API, API_pricing_GetProducts):
  `FormatVersion` must be `aws_v1`, each filter's `Type` one the API names
  (only TERM_MATCH is evaluated: field and value equal), `MaxResults` 1 to
  100 (InvalidParameterException otherwise); answers {"FormatVersion",
  "PriceList": [JSON text of a price list item: product {sku,
  productFamily, attributes}, serviceCode, terms.OnDemand.<sku>.<term>
  {priceDimensions.<dimension> {unit, pricePerUnit {USD}}}], "NextToken"},
  from the file's "products": [{serviceCode, productFamily, attributes,
  usd}].

The file: {"deployments": [{"service": NAME, "snapshots": [ServiceDeployment,
...]}]}. Each DescribeServiceDeployments of a deployment shows its next
snapshot (the last one stays), so a test plays a rollout forward one poll at a
time; `createdAt`, when a snapshot leaves it out, is when the file was written.
Timestamps are epoch seconds, as the JSON protocol carries them.
"""

import http.client
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, UPSTREAM, RULES, LOG = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
DEPLOYMENTS = sys.argv[5] if len(sys.argv) > 5 else None
LOCK = threading.Lock()
SEEN = {}  # rule index -> matching requests so far
SHOWN = {}  # deployment ARN -> snapshots described so far
STOPPED = {}  # deployment ARN -> stop type
ECS = "AmazonEC2ContainerServiceV20141113."
PRICING = "AWSPriceListService."
FILTER_TYPES = {"TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF"}
STOPPABLE = {"PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"}


class EcsError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind, self.message = kind, message


def served():
    try:
        with open(DEPLOYMENTS) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def price_list_item(product, index):
    sku = f"SKU{index:04d}"
    term = f"{sku}.JRTCKXETXF"
    return json.dumps({
        "product": {"sku": sku, "productFamily": product.get("productFamily", ""), "attributes": product.get("attributes", {})},
        "serviceCode": product["serviceCode"],
        "terms": {"OnDemand": {term: {
            "priceDimensions": {f"{term}.6YS6EN2CT7": {
                "unit": "Hrs", "beginRange": "0", "endRange": "Inf", "appliesTo": [],
                "description": "responder price", "rateCode": f"{term}.6YS6EN2CT7",
                "pricePerUnit": {"USD": product["usd"]},
            }},
            "sku": sku, "effectiveDate": "2026-11-01T00:00:00Z", "offerTermCode": "JRTCKXETXF", "termAttributes": {},
        }}},
        "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z",
    })


def pricing_answer(request):
    if request.get("FormatVersion", "aws_v1") != "aws_v1":
        raise EcsError("InvalidParameterException", "FormatVersion must be aws_v1")
    limit = request.get("MaxResults", 100)
    if not 1 <= limit <= 100:
        raise EcsError("InvalidParameterException", "MaxResults must be 1 to 100")
    filters = request.get("Filters", [])
    for f in filters:
        if f.get("Type") not in FILTER_TYPES or not f.get("Field") or "Value" not in f:
            raise EcsError("InvalidParameterException", f"invalid filter {f}")
    found = []
    for index, product in enumerate(served().get("products", [])):
        if request.get("ServiceCode") and product["serviceCode"] != request["ServiceCode"]:
            continue
        fields = dict(product.get("attributes", {}), productFamily=product.get("productFamily", ""))
        if all(fields.get(f["Field"]) == f["Value"] for f in filters if f["Type"] == "TERM_MATCH"):
            found.append(price_list_item(product, index))
    start = int(request.get("NextToken") or 0)
    page = found[start:start + limit]
    answer = {"FormatVersion": "aws_v1", "PriceList": page}
    if start + limit < len(found):
        answer["NextToken"] = str(start + limit)
    return answer


def scenario():
    try:
        with open(DEPLOYMENTS) as f:
            data = json.load(f)
        written = os.path.getmtime(DEPLOYMENTS)
    except (OSError, ValueError):
        return []
    out = []
    for entry in data.get("deployments", []):
        snapshots = [dict(s) for s in entry["snapshots"]]
        for s in snapshots:
            s.setdefault("createdAt", written)
        out.append((entry["service"], snapshots))
    return out


def current(snapshots, advance):
    """The snapshot a describe shows now (moving on when `advance`), after a stop."""
    arn = snapshots[0]["serviceDeploymentArn"]
    shown = SHOWN.get(arn, 0)
    if advance:
        SHOWN[arn] = shown + 1
    snapshot = dict(snapshots[min(shown, len(snapshots) - 1)])
    stop = STOPPED.get(arn)
    if stop is not None:
        requested, times = stop
        if times == 0:
            snapshot["status"] = "ROLLBACK_REQUESTED" if requested == "ROLLBACK" else "STOP_REQUESTED"
        else:
            snapshot["status"] = "ROLLBACK_SUCCESSFUL" if requested == "ROLLBACK" else "STOPPED"
            snapshot["finishedAt"] = time.time()
            snapshot["rollback"] = {"reason": "a stop with rollback was requested (StopServiceDeployment)", "startedAt": time.time()}
        if advance:
            STOPPED[arn] = (requested, times + 1)
    return snapshot


def brief(snapshot):
    fields = ["serviceDeploymentArn", "serviceArn", "clusterArn", "createdAt", "startedAt", "finishedAt", "status", "statusReason"]
    out = {k: snapshot[k] for k in fields if k in snapshot}
    target = snapshot.get("targetServiceRevision", {}).get("arn")
    if target:
        out["targetServiceRevisionArn"] = target
    return out


def ecs_answer(operation, request):
    with LOCK:
        deployments = scenario()
        if operation == "ListServiceDeployments":
            service = request.get("service")
            if not service:
                raise EcsError("InvalidParameterException", "service is required")
            name = service.rsplit("/", 1)[-1]
            known = [snaps for svc, snaps in deployments if svc == name]
            if not known:
                raise EcsError("ServiceNotFoundException", f"Service not found: {service}")
            window = request.get("createdAt") or {}
            statuses = request.get("status")
            found = []
            for snaps in known:
                s = current(snaps, advance=False)
                if "after" in window and s["createdAt"] < window["after"]:
                    continue
                if "before" in window and s["createdAt"] > window["before"]:
                    continue
                if statuses and s["status"] not in statuses:
                    continue
                found.append(brief(s))
            return {"serviceDeployments": found}
        if operation == "DescribeServiceDeployments":
            arns = request.get("serviceDeploymentArns")
            if not arns or len(arns) > 20:
                raise EcsError("InvalidParameterException", "serviceDeploymentArns must hold 1 to 20 ARNs")
            by_arn = {snaps[0]["serviceDeploymentArn"]: snaps for _, snaps in deployments}
            described, failures = [], []
            for arn in arns:
                if arn in by_arn:
                    described.append(current(by_arn[arn], advance=True))
                else:
                    failures.append({"arn": arn, "reason": "MISSING"})
            return {"serviceDeployments": described, "failures": failures}
        if operation == "StopServiceDeployment":
            arn = request.get("serviceDeploymentArn")
            stop = request.get("stopType", "ROLLBACK")
            if not arn:
                raise EcsError("InvalidParameterException", "serviceDeploymentArn is required")
            if stop not in ("ABORT", "ROLLBACK"):
                raise EcsError("InvalidParameterException", f"stopType {stop} is not ABORT or ROLLBACK")
            by_arn = {snaps[0]["serviceDeploymentArn"]: snaps for _, snaps in deployments}
            if arn not in by_arn:
                raise EcsError("ServiceDeploymentNotFoundException", f"{arn} not found")
            status = current(by_arn[arn], advance=False)["status"]
            if status not in STOPPABLE:
                raise EcsError("ConflictException", f"the service deployment is {status} and cannot be stopped")
            STOPPED.setdefault(arn, (stop, 0))
            return {"serviceDeploymentArn": arn}
    return None


def rules():
    try:
        with open(RULES) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def log(line):
    with LOCK, open(LOG, "a") as f:
        f.write(line + "\n")


def fault_for(method, path, target):
    with LOCK:
        for i, rule in enumerate(rules()):
            if rule.get("method") and rule["method"] != method:
                continue
            if rule.get("path") and not re.search(rule["path"], path):
                continue
            if rule.get("target") and rule["target"] != target:
                continue
            key = json.dumps(rule, sort_keys=True)
            SEEN[key] = SEEN.get(key, 0) + 1
            n = SEEN[key] - rule.get("skip", 0)
            times = rule.get("times", -1)
            if n >= 1 and (times < 0 or n <= times):
                return rule["fault"]
    return None


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        target = self.headers.get("X-Amz-Target", "")
        body = self.body()
        fault = fault_for(self.command, self.path, target)
        line = f"{self.command} {self.path} {target}".rstrip()
        if DEPLOYMENTS and fault is None and target == PRICING + "GetProducts":
            try:
                answer, status = pricing_answer(json.loads(body or b"{}")), 200
            except EcsError as e:
                answer, status = {"__type": e.kind, "message": e.message}, 400
            log(f"{line} {body.decode(errors='replace')} -> {status}")
            self.answer(status, json.dumps(answer).encode(), "application/x-amz-json-1.1")
            return
        operation = target[len(ECS):] if target.startswith(ECS) else ""
        if DEPLOYMENTS and fault is None and operation in ("ListServiceDeployments", "DescribeServiceDeployments", "StopServiceDeployment"):
            try:
                answer, status = ecs_answer(operation, json.loads(body or b"{}")), 200
            except EcsError as e:
                answer, status = {"__type": e.kind, "message": e.message}, 400
            log(f"{line} {body.decode(errors='replace')} -> {status}")
            self.answer(status, json.dumps(answer).encode(), "application/x-amz-json-1.1")
            return
        if fault == "reset":
            log(f"{line} -> reset")
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault == "hang":
            log(f"{line} -> hang")
            time.sleep(60)
            self.close_connection = True
            return
        if fault is not None:
            log(f"{line} -> {fault}")
            if target.startswith("DynamoDB"):
                kind = "ThrottlingException" if fault in ("503", "throttle") else "InternalServerError"
                payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": "injected"})
                status = 400 if kind == "ThrottlingException" else 500
                self.answer(status, payload.encode(), "application/x-amz-json-1.0")
            else:
                code, status = ("SlowDown", 503) if fault in ("503", "throttle") else ("InternalError", 500)
                payload = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>injected</Message></Error>"
                self.answer(status, payload.encode(), "application/xml")
            return
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        headers["Content-Length"] = str(len(body))
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        log(f"{line} -> {response.status}")
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", PORT), Proxy).serve_forever()
