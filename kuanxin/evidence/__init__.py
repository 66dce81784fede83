"""Documents borrowers attach to a hardship request, a dispute, a waiver request or a payment query.

Knows nothing of Rasa or the web: the web upload, the console and WeChat call it.
- `sniff`: the type by content (magic bytes), never by the name or the MIME type a client sends;
- `cleaning`: images re-encoded without metadata (EXIF, GPS, device), PDFs with scripts or encryption refused;
- `sealing`: AES-GCM encryption at rest, the key derived from KUANXIN_DOCUMENT_KEY;
- `storage`: one interface, a local folder (default) or S3-compatible object storage, keyed by random names;
- `consent`: the separate consent to keep sensitive personal information (PIPL Arts. 28-30), append-only;
- `documents`: accepting a document (every check, then sealed and stored), staff views (audited), the purge.
"""
