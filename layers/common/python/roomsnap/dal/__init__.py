"""Data access: every boto3 call of the service lives in this package, behind small repositories.

The single DynamoDB table (docs/data-model.md):

  ROOM#<room>        META               the room                 GSI1: ROOMS#<shard> / <room>
  ROOM#<room>        PARTY#<email>      a party = a membership   GSI1: USER#<email> / ROOM#<room>
  ROOM#<room>        VESSEL#<imo>, DOC#<id>, APPROVAL#<id>
  ROOMLOG#<room>     <id>               the activity log (time-ordered ids)          rooms.py
  SNAP#<id>          SNAP               a snapshot and its task  GSI1: ROOMSNAPS#<room> / <id>
                                                                 GSI2: ACTIVE#<shard> / <heartbeat> or PDF#<hash> / <id>
                                                                                 snapshots.py
  IDEMP#<digest>     IDEMP              an Idempotency-Key of a create request   idempotency.py
  PDF#<hash>         PDF                a cached PDF's use record               pdf_records.py
  CONTENT#<key>      CONTENT            the content hash of a content key       pdf_records.py
  GEN#<day>#<shard>  <at>#<id>          the generation log                      generation_log.py
  APISTATS#<day>     <hour>#<class>#<route>  API latency histograms             api_latency.py
  ROOMHOOKS#<room>   HOOK#<id>          a webhook endpoint of the room          webhooks.py
  HOOKMSG#<msg>      MSG                one event for one endpoint              webhooks.py
  HOOKLOG#<webhook>  <id>               the delivery log                        webhooks.py
  DOCALERT#<doc>     <day>              a document's expiry alert of a day      expiring_documents.py
  ISSUED#<sha256>    SNAP#<id>          PDF bytes issued for a snapshot          issuance.py
  VERIFYLIMIT#<who>  VERIFY             a caller's verifications this minute     verify_limits.py
  (documents with an expiry date)       GSI2: DOCEXP#<day> / <room>#<id>        expiring_documents.py

S3 holds the PDFs (storage.py); SQS the render, webhook and dead-letter queues (queues.py); KMS
the key of the webhook secrets (secrets.py) and the PDF signing key, whose certificate chain SSM
Parameter Store keeps (signing_key.py).
"""

from roomsnap.dal.rooms import RoomRepository
from roomsnap.dal.snapshots import SnapshotRepository

__all__ = ["RoomRepository", "SnapshotRepository"]
