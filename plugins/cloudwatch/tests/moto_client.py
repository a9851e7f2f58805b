#!/usr/bin/env python3
"""boto3 side of the CloudWatch integration test: an independent SigV4 client.

  moto_client.py URL setup                 -> {"key": ..., "secret": ...}
      creates an IAM user with an allow-all policy and an access key (the 3 unauthenticated
      calls moto grants with INITIAL_NO_AUTH_ACTION_COUNT=3).
  moto_client.py URL read KEY SECRET JSON  -> results of the queries in JSON
      JSON: {"namespace": ..., "start": unix, "end": unix, "stats": [{"name":..., "dims": {...}}],
             "list": true}
"""
import json
import sys
from datetime import datetime, timezone

import boto3


def client(url, service, key="testing", secret="testing"):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)


def setup(url):
    iam = client(url, "iam")
    iam.create_user(UserName="loadrun")
    iam.put_user_policy(UserName="loadrun", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    k = iam.create_access_key(UserName="loadrun")["AccessKey"]
    print(json.dumps({"key": k["AccessKeyId"], "secret": k["SecretAccessKey"]}))


def read(url, key, secret, query):
    q = json.loads(query)
    cw = client(url, "cloudwatch", key, secret)
    start = datetime.fromtimestamp(q["start"], timezone.utc)
    end = datetime.fromtimestamp(q["end"], timezone.utc)
    out = {"stats": [], "metrics": []}
    for s in q.get("stats", []):
        dims = [{"Name": k, "Value": v} for k, v in sorted(s["dims"].items())]
        r = cw.get_metric_statistics(
            Namespace=q["namespace"], MetricName=s["name"], Dimensions=dims,
            StartTime=start, EndTime=end, Period=q["end"] - q["start"],
            Statistics=["SampleCount", "Sum", "Minimum", "Maximum", "Average"])
        points = [{k: v for k, v in p.items() if k != "Timestamp"} for p in r["Datapoints"]]
        out["stats"].append(points)
    if q.get("list"):
        seen = set()
        for page in cw.get_paginator("list_metrics").paginate(Namespace=q["namespace"]):
            for m in page["Metrics"]:
                dims = tuple(sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", [])))
                seen.add((m["MetricName"], dims))
        out["metrics"] = [[name, dict(d)] for name, d in sorted(seen)]
    print(json.dumps(out))


if __name__ == "__main__":
    url, cmd = sys.argv[1], sys.argv[2]
    if cmd == "setup":
        setup(url)
    elif cmd == "read":
        read(url, sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("unknown command " + cmd)
