"""ingest's first call the way most Lambda users write it: Python 3.11 with boto3, clients at module level.

The cold-request benchmark (`scripts/bench --cold`) runs this as a custom runtime: the loop below speaks the Lambda
runtime API with the standard library, as AWS's own bootstrap does. The handler makes the AWS calls ingest makes on
a first post: read the smart-me secret and check the caller's Basic credentials, read the meter's latest state,
write the readings, update the latest state.
"""

import base64
import json
import os
import urllib.request

import boto3

DYNAMODB = boto3.client("dynamodb")
SECRETS = boto3.client("secretsmanager")
TABLE = os.environ["SWITCHYARD_TABLE"]
SECRET_ID = os.environ.get("SWITCHYARD_SECRET_PREFIX", "") + "smartme"
METER = "METER#3bd0fce9-9f8e-4183-b3d1-0c1622a22ca1"


def handler(event):
    secret = json.loads(SECRETS.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    credentials = f"{secret['username']}:{secret['password']}".encode()
    if event.get("headers", {}).get("authorization") != "Basic " + base64.b64encode(credentials).decode():
        return {"statusCode": 401}
    latest = {"pk": {"S": METER}, "sk": {"S": "LATEST"}}
    DYNAMODB.batch_get_item(RequestItems={TABLE: {"Keys": [latest]}})
    writes = [
        {"PutRequest": {"Item": {"pk": {"S": METER}, "sk": {"S": f"READING#2019-11-22T19:03:{i:02}Z"},
                                 "v": {"N": "1879583.2"}}}}
        for i in range(10)
    ]
    DYNAMODB.batch_write_item(RequestItems={TABLE: writes})
    DYNAMODB.update_item(TableName=TABLE, Key=latest, UpdateExpression="SET v = :v",
                         ExpressionAttributeValues={":v": {"N": "1879583.2"}})
    return {"statusCode": 200, "body": ""}


def main():
    api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
    while True:
        with urllib.request.urlopen(api + "next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        answer = json.dumps(handler(event)).encode()
        urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=answer, method="POST")).read()


if __name__ == "__main__":
    main()
