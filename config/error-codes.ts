/**
 * Every error code the code base throws, with what it means, the HTTP status the local API
 * answers it with and, where it differs from its area's, the CLI exit code.
 *
 * This is the one list: `ErrorCode` (config/errors.ts) is `keyof typeof ERROR_CODES`, so a
 * code that is not here, or is misspelt, does not compile at a `new PosError(...)`, an
 * `isPosError(e, code)` or in a test. docs/errors.md is generated from it
 * (`npm run docs:errors`), and test/config/error-codes.test.ts checks the docs' tables against it.
 *
 * A code is `CODPOS_<AREA>_<WHAT>`: the area (config/errors.ts ERROR_AREAS) gives the exit code
 * and the default HTTP status. An entry says `httpStatus` or `exitCode` only where the code
 * answers differently from its area. The meaning is one line a technician reads: what happened,
 * in plain words, and where it helps what to do.
 */
import type { ErrorArea } from './errors.js';

export interface ErrorCodeInfo {
  /** What happened, in plain words (one line). */
  readonly meaning: string;
  /** The local API's HTTP status for this code, where it is not its area's. */
  readonly httpStatus?: number;
  /** The CLI exit code for this code, where it is not its area's. */
  readonly exitCode?: number;
}

export const ERROR_CODES = {
  // USAGE: the caller's mistake (exit 2, HTTP 400)
  CODPOS_USAGE_AMOUNT: {
    meaning: 'an amount is not a whole number of minor units from 1 to the 12 digits of DE4 (2500 = 25.00)',
  },
  CODPOS_USAGE_BAD_DATE: { meaning: 'a date or time option is not a day of the calendar or not in the form asked for' },
  CODPOS_USAGE_BAD_HEX: { meaning: 'hex typed on the command line has a non-hex character or an odd number of digits' },
  CODPOS_USAGE_BAD_JSON: { meaning: 'a request body or a JSON argument is not JSON, or not a JSON object' },
  CODPOS_USAGE_BAD_OPTION: {
    meaning: 'a command-line option or simulator console command has a bad value (the message names it)',
  },
  CODPOS_USAGE_BAD_QUERY: {
    meaning: 'a query parameter of a local API request has a bad value (the message names it)',
  },
  CODPOS_USAGE_BAD_REQUEST: { meaning: 'a local API request does not match its schema (the message names the field)' },
  CODPOS_USAGE_BAD_TRACK: { meaning: 'track data typed on the command line does not parse' },
  CODPOS_USAGE_BLE_OPTION: {
    meaning: 'the BLE transport was configured without the peripheral (name or address) to connect to',
  },
  CODPOS_USAGE_BODY_TOO_LARGE: { meaning: 'a local API request body is over 64 KiB', httpStatus: 413 },
  CODPOS_USAGE_BUSY: {
    meaning: 'the payment service is already doing another request: ask again when it is done',
    httpStatus: 409,
  },
  CODPOS_USAGE_CHECK_IN: {
    meaning:
      "a courier check-in refused: no courier id, a PIN that is not 4 to 12 digits, a wrong PIN, or a courier not on this terminal's list",
  },
  CODPOS_USAGE_CHECK_IN_LOCKED: {
    meaning: 'too many wrong courier PINs: check-in is refused for a while (the message says how long)',
  },
  CODPOS_USAGE_COD_NOT_COLLECTED: {
    meaning: 'a delivery was recorded with less cash and card money than its cash-on-delivery amount',
  },
  CODPOS_USAGE_COD_PAYMENT_USED: { meaning: 'a card payment named for a delivery already paid another delivery' },
  CODPOS_USAGE_DAY_CLOSED: {
    meaning: "the day's cash was already handed over: nothing more is taken on it until the next check-in",
    httpStatus: 409,
  },
  CODPOS_USAGE_ESCPOS: {
    meaning: 'a receipt asked the printer for something ESC/POS cannot do (code page, alignment, size)',
  },
  CODPOS_USAGE_FRAMER_OPTION: {
    meaning: 'a device link framer was configured with a bad option (the message names it)',
  },
  CODPOS_USAGE_GC_NOT_EXPOSED: {
    meaning: 'a heap reading after garbage collection was asked of a daemon not started with --expose-gc',
    httpStatus: 409,
  },
  CODPOS_USAGE_HANDOVER: { meaning: 'a cash handover with a bad count or clerk (the message names the field)' },
  CODPOS_USAGE_HANDOVER_DONE: { meaning: "the day's cash was already handed over", httpStatus: 409 },
  CODPOS_USAGE_HANDOVER_REASON: {
    meaning: 'the cash counted differs from the cash expected and the handover gives no reason',
  },
  CODPOS_USAGE_HID_OPTION: {
    meaning: 'the HID transport was configured with a vendor or product id outside 0..0xFFFF',
  },
  CODPOS_USAGE_IDEMPOTENCY_KEY: {
    meaning: 'an Idempotency-Key header that is not 1 to 128 printable characters without spaces',
  },
  CODPOS_USAGE_IDEMPOTENCY_KEY_REUSED: {
    meaning: 'an Idempotency-Key already used for a different payment: a new payment needs a new key',
    httpStatus: 422,
  },
  CODPOS_USAGE_KEYBOARD_CHAR: {
    meaning: 'the keyboard-wedge scanner simulator was asked to type a character no key types',
  },
  CODPOS_USAGE_LOG_LEVEL: { meaning: 'a log level that is not one the daemon knows' },
  CODPOS_USAGE_METHOD: { meaning: 'a local API path was called with an HTTP method it does not take', httpStatus: 405 },
  CODPOS_USAGE_NOT_CANCELLABLE: {
    meaning: 'a payment can no longer be cancelled (the card has answered): void it instead',
    httpStatus: 409,
  },
  CODPOS_USAGE_NOT_CHECKED_IN: { meaning: 'a cash handover with no courier checked in: check in first' },
  CODPOS_USAGE_NOT_FOUND: {
    meaning: 'no such local API path, or a simulator route on a daemon that does not simulate that part',
    httpStatus: 404,
  },
  CODPOS_USAGE_NO_PAYMENT: { meaning: 'a cancel with no card payment in progress', httpStatus: 404 },
  CODPOS_USAGE_NO_RECEIPT: { meaning: 'no receipt is kept for that payment', httpStatus: 404 },
  CODPOS_USAGE_NO_SUCH_PAYMENT: { meaning: 'no payment with that journal id', httpStatus: 404 },
  CODPOS_USAGE_NO_SUCH_WAYBILL: {
    meaning: 'nothing is known of that waybill on this terminal (no task, event or payment)',
    httpStatus: 404,
  },
  CODPOS_USAGE_NO_TARIFF: {
    meaning: 'no tariff has come with a task list yet: refresh the task list once the back-end can be reached',
  },
  CODPOS_USAGE_OPTION: { meaning: 'a lab CLI option value is not understood (`--format`, `--key-type`)' },
  CODPOS_USAGE_PACKAGE_ARGUMENT: { meaning: 'the package script was given an unknown or incomplete argument' },
  CODPOS_USAGE_PACKAGE_NOT_BUILT: { meaning: 'the package script found no built daemon: run npm run build first' },
  CODPOS_USAGE_PACKAGE_TOOL_FAILED: {
    meaning: 'a tool the package script runs (dpkg-deb, xz, ...) failed (the message gives its output)',
  },
  CODPOS_USAGE_PACKAGE_TOOL_MISSING: {
    meaning: 'a tool the package script needs is not installed (the message names its Debian package)',
  },
  CODPOS_USAGE_PAN: { meaning: 'a PIN request was given a PAN that is not 12 to 19 digits' },
  CODPOS_USAGE_PAYMENT_RUNNING: {
    meaning: 'the payment with that Idempotency-Key is still running: ask again with the same key later',
    httpStatus: 409,
  },
  CODPOS_USAGE_PINPAD_KEYS: { meaning: 'the PIN pad simulator was told to press something other than digits' },
  CODPOS_USAGE_PINPAD_SIM: {
    meaning: 'the PIN pad simulator was configured with a base derivation key that is not 32 or 64 hex digits',
  },
  CODPOS_USAGE_PRINTER_PROFILE: { meaning: 'no printer profile of that name' },
  CODPOS_USAGE_QR_ALREADY_PAID: {
    meaning: 'the waybill is already paid by a QR payment that stands (the message names it): refund it before another',
    httpStatus: 409,
  },
  CODPOS_USAGE_QR_CONSUMER_CODE: {
    meaning: "a consumer-presented QR payment without the code the scanner read from the consignee's wallet",
  },
  CODPOS_USAGE_QR_NOT_CANCELLABLE: {
    meaning: 'a QR payment that is already paid, declined or cancelled cannot be cancelled',
    httpStatus: 409,
  },
  CODPOS_USAGE_QR_NOT_REFUNDABLE: { meaning: 'only a paid QR payment can be refunded', httpStatus: 409 },
  CODPOS_USAGE_QR_NOTIFICATION: {
    meaning: 'a PSP notification whose signature or freshness does not check (it is logged without its body)',
    httpStatus: 401,
  },
  CODPOS_USAGE_QUOTE: {
    meaning: 'a price quote request with a bad destination, weight or service (the message names it)',
  },
  CODPOS_USAGE_QUOTE_NO_ZONE: { meaning: "no zone of the tariff covers the quote's destination" },
  CODPOS_USAGE_QUOTE_SERVICE: {
    meaning: 'the tariff has no such service, or does not offer it to that zone and weight',
  },
  CODPOS_USAGE_QUOTE_WEIGHT: { meaning: "the parcel is heavier than the tariff's last weight band" },
  CODPOS_USAGE_RECONNECT: {
    meaning: 'a device reconnect policy with a delay that is not positive, or a maximum under the first delay',
  },
  CODPOS_USAGE_REPRINT: { meaning: 'a reprint request whose journal id is not a payment id' },
  CODPOS_USAGE_SERIAL_BAUD: {
    meaning: 'the serial transport was configured with a baud rate that is not a positive integer',
  },
  CODPOS_USAGE_SERIAL_PATH: { meaning: 'the serial transport was configured without a device path' },
  CODPOS_USAGE_SIGNATURE: {
    meaning: 'a proof-of-delivery signature is not a drawing the terminal accepts (the message says why)',
  },
  CODPOS_USAGE_SIM: {
    meaning:
      'a simulator action (card, PIN pad, printer, back-end outage) with a bad or missing field (the message names it)',
  },
  CODPOS_USAGE_SIM_COMMAND: { meaning: 'a simulator console command is not understood' },
  CODPOS_USAGE_TASK_CURRENCY: {
    meaning: "a task's cash-on-delivery currency is not the currency the tariff prices in",
  },
  CODPOS_USAGE_UNAUTHORIZED: {
    meaning: 'a local API request over TCP without the right bearer token or session',
    httpStatus: 401,
  },
  CODPOS_USAGE_VOID: {
    meaning: 'a void of something that is not an approved purchase of the open batch (the message says what it is)',
  },
  CODPOS_USAGE_WAYBILL: {
    meaning: 'a waybill number is missing, too long or not a valid waybill number (the message says why)',
  },
  CODPOS_USAGE_WAYBILL_EVENT: {
    meaning: 'a delivery event (delivered, refused, ...) with a missing or bad field (the message names it)',
  },

  // CONFIG: the configuration (exit 2)
  CODPOS_CONFIG_CA_KEYS: {
    meaning: 'the file of EMV certification authority public keys (emv.caKeysFile) cannot be read or holds no key',
  },
  CODPOS_CONFIG_INVALID: {
    meaning: 'the configuration file or a CODPOS_* environment override is invalid (the message lists each problem)',
  },

  // ISO8583: an acquirer message could not be encoded or decoded (exit 2)
  CODPOS_ISO8583_BAD_BITMAP: { meaning: 'a bitmap written as hex holds a non-hex character' },
  CODPOS_ISO8583_BAD_CHARACTER: {
    meaning: 'a text field holds a character its content type forbids, or an amount has a bad sign',
  },
  CODPOS_ISO8583_BAD_DIALECT: { meaning: 'a dialect table is inconsistent (checked once, when first used)' },
  CODPOS_ISO8583_BAD_DIGIT: {
    meaning: 'a non-digit in a numeric field, BCD nibble, length prefix or MTI; a non-hex digit in hex data',
  },
  CODPOS_ISO8583_BAD_FRAME: {
    meaning:
      "a frame's length header disagrees with its size or is not digits, its TPDU or header is wrong, or a framing option is wrong",
  },
  CODPOS_ISO8583_BAD_MTI: {
    meaning: 'the message type (MTI) is not the one expected, e.g. a response that does not answer its request',
  },
  CODPOS_ISO8583_BAD_PADDING: { meaning: 'the filler nibble of an odd-length BCD value is not 0' },
  CODPOS_ISO8583_BAD_VALUE: {
    meaning:
      'a value of the wrong type or shape (a string for a binary field, bad JSON, bad hex, an amount out of range)',
  },
  CODPOS_ISO8583_LENGTH_OVER_MAX: { meaning: "a length prefix (or a value to encode) is over the field's maximum" },
  CODPOS_ISO8583_MISSING_FIELD: { meaning: 'a field the message type requires is absent (e.g. DE39 in a response)' },
  CODPOS_ISO8583_RESPONSE_MISMATCH: { meaning: "a response's STAN or terminal id differs from its request's" },
  CODPOS_ISO8583_TRAILING_BYTES: {
    meaning: 'bytes are left after the last field the bitmap names (or after a sub-message)',
  },
  CODPOS_ISO8583_TRUNCATED: { meaning: 'the message ends inside the MTI, a bitmap, a length prefix or a field' },
  CODPOS_ISO8583_UNKNOWN_DIALECT: { meaning: 'no ISO 8583 dialect has that name' },
  CODPOS_ISO8583_UNKNOWN_FIELD: {
    meaning: 'a bitmap or an encoder names a field the dialect does not define (or field 0/1)',
  },

  // TLV: BER-TLV card data could not be encoded or decoded (exit 2)
  CODPOS_TLV_BAD_DOL: { meaning: 'a data object list (tag and length list) is cut short' },
  CODPOS_TLV_BAD_INPUT: { meaning: 'TLV decoding was given something that is not bytes' },
  CODPOS_TLV_BAD_TAG: { meaning: 'a tag to encode is not well formed (padding first byte, continuation bits)' },
  CODPOS_TLV_BAD_VALUE: { meaning: 'a tag to encode has a value that is not bytes' },
  CODPOS_TLV_INDEFINITE_LENGTH: { meaning: 'an indefinite length (byte 80), which EMV data never uses' },
  CODPOS_TLV_LENGTH_TOO_LONG: { meaning: 'a length of more than 3 bytes (form 84 or longer)' },
  CODPOS_TLV_NOT_CONSTRUCTED: { meaning: 'children were given to encode under a primitive tag' },
  CODPOS_TLV_TAG_TOO_LONG: { meaning: 'a tag of more than 4 bytes' },
  CODPOS_TLV_TOO_DEEP: { meaning: 'templates nested deeper than 16' },
  CODPOS_TLV_TRUNCATED: { meaning: 'a tag, length or value runs past the end of the data (details.offset says where)' },
  CODPOS_TLV_VALUE_TOO_LONG: { meaning: 'a value to encode is longer than 3 length bytes allow' },

  // QR: an EMV QR payload could not be built or parsed (exit 2, HTTP 400)
  CODPOS_QR_AMOUNT: {
    meaning:
      'an amount in a QR payload (tag 54, 56) is not up to 13 digits with one optional ".", has more decimals than its currency has, or is 0',
  },
  CODPOS_QR_CONSUMER_CODE: {
    meaning:
      'a scanned wallet code is neither a consumer-presented QR (CPM) nor a wallet token (16 to 32 letters and digits)',
  },
  CODPOS_QR_CPM: {
    meaning:
      'a consumer-presented QR (CPM) is not base64, not BER-TLV, lacks its payload format indicator "CPV01" (tag 85) or its application template (tag 61)',
  },
  CODPOS_QR_CRC: {
    meaning:
      'a merchant-presented QR has no CRC (tag 63), the CRC is not the last object, or it does not match the payload',
  },
  CODPOS_QR_DUPLICATE_TAG: { meaning: 'a merchant-presented QR has the same data object ID twice at one level' },
  CODPOS_QR_FORMAT: {
    meaning:
      'a data object of a merchant-presented QR has a bad value (payload format indicator, initiation method, MCC, currency, country, name, city, ...): the message names the tag',
  },
  CODPOS_QR_LENGTH: {
    meaning:
      'a data object of a QR payload has an ID or length that is not two digits, a length of 00, or a value that runs past the end (details.offset says where)',
  },
  CODPOS_QR_MISSING_TAG: {
    meaning:
      'a merchant-presented QR lacks a mandatory data object (00, a merchant account 02-51, 52, 53, 58, 59, 60, 63): the message names it',
  },
  CODPOS_QR_TEMPLATE: {
    meaning: 'a template of a merchant-presented QR (26-51, 62, 64, 80-99) has inner data objects that do not parse',
  },

  // CRYPTO: a bad key, block or cryptographic input (exit 2)
  CODPOS_CRYPTO_AC_DATA: {
    meaning: 'the transaction data for an application cryptogram is missing or of the wrong size (names the tag)',
  },
  CODPOS_CRYPTO_BAD_INPUT: { meaning: 'a hex input is not hex, or has the wrong length' },
  CODPOS_CRYPTO_CVN: { meaning: 'unknown cryptogram version profile' },
  CODPOS_CRYPTO_DATA_LENGTH: { meaning: 'data is not a whole number of cipher blocks (pad it first)' },
  CODPOS_CRYPTO_IV_LENGTH: { meaning: 'a CBC IV that is not one block (8 bytes TDES, 16 AES)' },
  CODPOS_CRYPTO_KEY_LENGTH: { meaning: 'a key has the wrong length for its algorithm or key type' },
  CODPOS_CRYPTO_KEY_MISSING: { meaning: 'PIN block format 4 was asked for without its key' },
  CODPOS_CRYPTO_KEY_TYPE: { meaning: 'an AES DUKPT working key stronger than its derivation key' },
  CODPOS_CRYPTO_KSN_COUNTER: { meaning: 'a DUKPT counter of 0, or with more one-bits than the standard allows' },
  CODPOS_CRYPTO_KSN_EXHAUSTED: { meaning: 'no valid DUKPT counter left: the PIN pad needs a new initial key' },
  CODPOS_CRYPTO_KSN_LENGTH: { meaning: 'a TDES KSN is not 10 bytes, or an AES KSN not 12' },
  CODPOS_CRYPTO_PADDING: { meaning: 'ISO 9797-1 method 2 padding is missing' },
  CODPOS_CRYPTO_PAN: { meaning: 'a PAN is missing, not digits, or of a length the PIN block format cannot use' },
  CODPOS_CRYPTO_PIN: { meaning: 'a PIN is not 4 to 12 digits' },
  CODPOS_CRYPTO_PIN_BLOCK: { meaning: 'a PIN block of the wrong size, or that does not decode' },
  CODPOS_CRYPTO_PIN_BLOCK_FORMAT: { meaning: 'a PIN block format other than 0, 1, 3 or 4' },
  CODPOS_CRYPTO_PIN_FILL: { meaning: 'an explicit PIN block fill of the wrong length or alphabet' },
  CODPOS_CRYPTO_RANDOM: { meaning: 'the random source returned fewer bytes than asked for' },
  CODPOS_CRYPTO_RSA_INPUT_LENGTH: { meaning: 'an RSA input is not exactly as long as the modulus' },
  CODPOS_CRYPTO_RSA_INPUT_RANGE: { meaning: 'an RSA input is not below the modulus' },
  CODPOS_CRYPTO_RSA_KEY: { meaning: 'a modulus and exponent that cannot be an RSA public key' },

  // DEVICE: a scanner, reader, PIN pad or printer failed or is absent (exit 3, HTTP 503)
  CODPOS_DEVICE_ABSENT: { meaning: 'the HID device or BLE peripheral was not found' },
  CODPOS_DEVICE_BLE_OFF: { meaning: 'the Bluetooth adapter is powered off, or did not power on in time' },
  CODPOS_DEVICE_BLE_SCAN: { meaning: 'the Bluetooth LE scan for the peripheral failed' },
  CODPOS_DEVICE_BLE_SERVICE: {
    meaning: 'the BLE peripheral lacks the service or characteristic the driver talks through',
  },
  CODPOS_DEVICE_BLE_UNSUPPORTED: { meaning: 'no usable Bluetooth LE adapter, or no permission to use it' },
  CODPOS_DEVICE_CLOSED: { meaning: 'the request was in flight when its driver stopped' },
  CODPOS_DEVICE_CL_CARD_REMOVED: {
    meaning: "the contactless card left the reader's field during the exchange (a torn transaction)",
  },
  CODPOS_DEVICE_CL_FIELD_OFF: { meaning: "a poll or contactless APDU while the reader's field is off" },
  CODPOS_DEVICE_CL_NO_CARD: { meaning: 'a contactless APDU with no card activated in the field (poll first)' },
  CODPOS_DEVICE_CL_TRANSMISSION: { meaning: 'a transmission error with the card in the field (present it again)' },
  CODPOS_DEVICE_DISCONNECTED: { meaning: 'the device went away (unplugged, PTY killed); it is reopened with backoff' },
  CODPOS_DEVICE_HID_REPORT: { meaning: 'a malformed HID report (the message names the byte)' },
  CODPOS_DEVICE_HID_UNAVAILABLE: { meaning: 'node-hid cannot load: install libusb-1.0-0' },
  CODPOS_DEVICE_IO: { meaning: 'an I/O error on a device that was not a disconnect' },
  CODPOS_DEVICE_LINK_FAILED: { meaning: 'three NAKs (or silences) on a PIN pad or card reader link; EOT was sent' },
  CODPOS_DEVICE_NOT_OPEN: { meaning: 'a write to a device while it is offline' },
  CODPOS_DEVICE_OPEN_FAILED: {
    meaning: 'the device could not be opened (path, permissions, lock held by another process)',
  },
  CODPOS_DEVICE_PAYMENT_UNAVAILABLE: {
    meaning: 'card payments cannot be taken: the payment service or one of its devices is not started',
  },
  CODPOS_DEVICE_PINPAD_BUSY: { meaning: 'the PIN pad is already busy with another request' },
  CODPOS_DEVICE_PINPAD_KEY: { meaning: 'the PIN pad has no DUKPT key (KSN) loaded for the key type asked for' },
  CODPOS_DEVICE_PINPAD_MESSAGE: { meaning: 'the PIN pad answered with a malformed or unexpected message' },
  CODPOS_DEVICE_PINPAD_TIMEOUT: { meaning: 'the PIN pad gave no answer in time' },
  CODPOS_DEVICE_PRINTER_NOTHING_TO_REPRINT: { meaning: 'a reprint was asked before anything was printed' },
  CODPOS_DEVICE_PRINTER_NO_STATUS: { meaning: 'the printer did not answer the status request (DLE EOT)' },
  CODPOS_DEVICE_PRINT_CANCELLED: { meaning: 'a held print job was cancelled by its caller; it was not printed' },
  CODPOS_DEVICE_PRINT_UNCONFIRMED: {
    meaning:
      'the job was sent, then the printer stopped answering before confirming it: it may have printed, look at the paper',
  },
  CODPOS_DEVICE_PTY_UNAVAILABLE: { meaning: "python3 is missing, which the simulators' pseudo-terminals need" },
  CODPOS_DEVICE_QR_UNAVAILABLE: {
    meaning:
      'QR payments cannot be taken: the daemon has no qr or psp section, or the QR payment service is not started',
  },
  CODPOS_DEVICE_READER_ERROR: { meaning: 'the card reader reported an error other than a card fault' },
  CODPOS_DEVICE_READER_MESSAGE: { meaning: 'the card reader sent a malformed or unexpected message' },
  CODPOS_DEVICE_READER_SESSION: {
    meaning: 'a contact command while the contactless field is on, or a contactless one while the chip is powered',
  },
  CODPOS_DEVICE_READER_TIMEOUT: { meaning: 'the card reader gave no answer in time' },
  CODPOS_DEVICE_SIM: {
    meaning: "a simulator's end of its pseudo-terminal did not open (codpos sim devices; the message says why)",
  },
  CODPOS_DEVICE_SIM_NOT_LOADED: { meaning: 'a device is configured as simulated but the simulators were not loaded' },
  CODPOS_DEVICE_WORKFLOW_UNAVAILABLE: {
    meaning: 'the delivery workflow (quotes, handover) is not running in this daemon',
  },

  // HOST: the acquirer host link (exit 4, HTTP 503)
  CODPOS_HOST_BAD_REQUEST: {
    meaning:
      'a bug in the caller: a response MTI sent as a request, a time-out of 0, two requests in flight with one STAN',
  },
  CODPOS_HOST_BAD_RESPONSE: {
    meaning:
      'the acquirer answered a purchase with a message that cannot be read (no response code, wrong STAN echo): it is reversed',
  },
  CODPOS_HOST_BAD_TPDU: {
    meaning: "a reply's TPDU does not answer ours (an event, not thrown): check host.tpdu against the acquirer's NII",
  },
  CODPOS_HOST_BATCH_UPLOAD: { meaning: 'the acquirer refused a transaction of the batch upload at settlement' },
  CODPOS_HOST_CONNECT: {
    meaning:
      "no TCP connection to the acquirer (refused or timed out): check the address, the network, the acquirer's firewall",
  },
  CODPOS_HOST_DISCONNECTED: {
    meaning:
      'the connection to the acquirer dropped; it reconnects by itself (details.sent says whether the request had left)',
  },
  CODPOS_HOST_NOT_STARTED: { meaning: 'the host service was asked for its client before it started' },
  CODPOS_HOST_REVERSAL_PENDING: {
    meaning: 'a reversal is not yet acknowledged; no financial request goes out until it is',
  },
  CODPOS_HOST_SIM_LISTEN: {
    meaning: 'the acquirer simulator cannot listen on its port (taken: choose another --port)',
  },
  CODPOS_HOST_TIMEOUT: { meaning: 'the request left and no answer came in time; an authorization is reversed' },
  CODPOS_HOST_TLS_EXPIRED: {
    meaning: "TLS: the acquirer's certificate is out of its validity period (or the box's clock is wrong)",
  },
  CODPOS_HOST_TLS_HANDSHAKE: {
    meaning: 'TLS: the handshake was refused by an alert (no client certificate, no common protocol version)',
  },
  CODPOS_HOST_TLS_NAME: { meaning: 'TLS: the certificate is not for host.tls.serverName' },
  CODPOS_HOST_TLS_PIN: { meaning: "TLS: the certificate's public key matches none of host.tls.pinSha256" },
  CODPOS_HOST_TLS_UNTRUSTED: { meaning: "TLS: the acquirer's certificate does not chain to a CA of host.tls.caFile" },

  // UPLINK: the logistics back-end link (exit 4)
  CODPOS_UPLINK_BAD_ANSWER: {
    meaning: 'the back-end answered something that does not read (not JSON, or a bad task list); the cached data stays',
  },
  CODPOS_UPLINK_BAD_TARIFF: {
    meaning: 'the tariff that came with the task list is malformed (the message names the path)',
  },
  CODPOS_UPLINK_PIN_HASH_TOO_COSTLY: {
    meaning: 'the back-end hashed courier PINs with scrypt parameters too costly for this terminal',
    httpStatus: 502,
  },
  CODPOS_UPLINK_REFUSED: { meaning: 'the back-end answered with an HTTP error status' },
  CODPOS_UPLINK_UNAVAILABLE: { meaning: 'this daemon has no back-end link to download the task list from' },
  CODPOS_UPLINK_UNREACHABLE: {
    meaning: 'the back-end cannot be reached (network, DNS, time-out); the cached data stays',
  },

  // PSP: the payment service provider link for QR payments (exit 4, HTTP 503)
  CODPOS_PSP_BAD_ANSWER: {
    meaning:
      'the PSP answered with a body that is not JSON or not the order or refund it should be (the message names the field)',
  },
  CODPOS_PSP_BAD_SIGNATURE: {
    meaning:
      "an answer or notification from the PSP has no signature or a wrong one: it is not believed (check the PSP's key or shared secret)",
  },
  CODPOS_PSP_CONFIG: {
    meaning: 'the psp section names a key, secret or CA file that cannot be read or is not a key of the right kind',
    exitCode: 2,
    httpStatus: 500,
  },
  CODPOS_PSP_IDEMPOTENCY_CONFLICT: {
    meaning: 'the PSP already took a request with the same idempotency key (orderRef or refundRef) and another body',
    httpStatus: 409,
  },
  CODPOS_PSP_REFUSED: {
    meaning:
      'the PSP refused the request (HTTP 4xx: bad signature, unknown merchant or terminal, a bad field); details.status and details.pspCode say which',
  },
  CODPOS_PSP_STALE_NOTIFICATION: {
    meaning: "a PSP notification's timestamp is outside the accepted window or its nonce was seen before (a replay)",
  },
  CODPOS_PSP_TIMEOUT: {
    meaning:
      'the PSP did not answer in time; details.sent true: the request may have reached it, only a query can tell',
  },
  CODPOS_PSP_UNAVAILABLE: {
    meaning: 'the PSP answered with a server error (HTTP 5xx): the request may or may not have taken effect',
  },
  CODPOS_PSP_UNKNOWN_ORDER: { meaning: 'the PSP has no order with this orderRef (it never received the create)' },
  CODPOS_PSP_UNREACHABLE: {
    meaning:
      'no connection to the PSP, or it closed before answering; details.sent false: the request never left, true: it may have',
  },

  // FLEET: the fleet link to the MQTT broker (exit 4, HTTP 503)
  CODPOS_FLEET_BROKER_REFUSED: {
    meaning:
      'the broker refused the connection (bad user name or password, not authorized, banned): details.reasonCode says which',
  },
  CODPOS_FLEET_CONNECT: {
    meaning: 'no connection to the MQTT broker (unreachable, TLS failure or timed out); the link keeps retrying',
  },
  CODPOS_FLEET_DISABLED: { meaning: 'the fleet link is not configured (no fleet section, or fleet.enabled false)' },
  CODPOS_FLEET_MESSAGE: {
    meaning:
      'a message from the broker is not JSON or not the shape its topic carries (the message names the field); it is dropped',
  },
  CODPOS_FLEET_UNKNOWN_COMMAND: { meaning: 'a fleet command names a command the terminal does not have' },

  // PARAMS: parameter packages from terminal management (exit 8, HTTP 422); nothing running changes
  CODPOS_PARAMS_CA_KEY: {
    meaning:
      'a CA public key in the package is malformed (RID, index, modulus length, exponent, expiry) or its SHA-1 checksum does not match',
  },
  CODPOS_PARAMS_CONTENT: {
    meaning: "the package's parameters are not what the terminal can run (the message names the field and why)",
  },
  CODPOS_PARAMS_FORMAT: { meaning: 'the package is not a codpos-params/1 envelope (JSON, base64 payload, signature)' },
  CODPOS_PARAMS_NO_PREVIOUS: { meaning: 'there is no previous parameter version to roll back to' },
  CODPOS_PARAMS_NOT_FOR_US: { meaning: 'the package names other terminals or fleet groups than this one' },
  CODPOS_PARAMS_SIGNATURE: {
    meaning: "the package's signature does not verify with the operator key it names, or it names a key not installed",
  },
  CODPOS_PARAMS_VERSION: {
    meaning: "the package's version is not newer than the running one (an older or replayed package)",
  },

  // SPOOL: the on-box SQLite store (exit 5)
  CODPOS_SPOOL_BACKUP_EXISTS: { meaning: 'the spool backup destination already exists: choose a new file' },
  CODPOS_SPOOL_BACKUP_FAILED: { meaning: 'the spool backup failed its integrity check' },
  CODPOS_SPOOL_BAD_RECORD: {
    meaning: 'a record to store is malformed; the message names the field (never echoes a PAN)',
  },
  CODPOS_SPOOL_BAD_REQUEST: { meaning: 'a bad lease, fail or retry request (e.g. failing a forwarded record)' },
  CODPOS_SPOOL_BUSY: { meaning: 'another process holds the spool write lock beyond the busy timeout' },
  CODPOS_SPOOL_CLEAR_CARD_DATA: { meaning: 'a record tried to store a PAN in clear or sensitive authentication data' },
  CODPOS_SPOOL_CLOSED: { meaning: 'a write after the spool was closed (daemon stopping); it was not stored' },
  CODPOS_SPOOL_CORRUPT: { meaning: 'the spool database is damaged; a copy was kept (path in the message)' },
  CODPOS_SPOOL_DATA_DIR: { meaning: 'the data directory is not writable' },
  CODPOS_SPOOL_DISK_LIMIT: { meaning: 'the spool is over spool.maxDiskMb: no offline card payments' },
  CODPOS_SPOOL_EVENT_LOG: { meaning: 'the event numbering could not be read from the spool' },
  CODPOS_SPOOL_FULL: { meaning: 'the disk is full: nothing was written; free space or forward records' },
  CODPOS_SPOOL_ILLEGAL_TRANSITION: { meaning: 'a journal move the transaction state machine forbids' },
  CODPOS_SPOOL_QR_OUTSTANDING: {
    meaning:
      'the waybill has a QR payment still pending or unknown: it is resolved (by query to the PSP) before another code is shown',
    httpStatus: 409,
  },
  CODPOS_SPOOL_IO: { meaning: 'the spool file could not be written (I/O error, read-only file system)' },
  CODPOS_SPOOL_KEY_CREATE: { meaning: 'the spool key file cannot be created' },
  CODPOS_SPOOL_KEY_INVALID: {
    meaning: 'the spool key file is not exactly 32 bytes, not a regular file, or a symbolic link',
  },
  CODPOS_SPOOL_KEY_MISMATCH: { meaning: 'the spool key does not belong to this database' },
  CODPOS_SPOOL_KEY_MISSING: {
    meaning: 'the spool key file is gone while the spool it seals exists: restore it from its backup',
  },
  CODPOS_SPOOL_KEY_PERMISSIONS: { meaning: 'the spool key file is readable by group or others: chmod 600 it' },
  CODPOS_SPOOL_KEY_UNREADABLE: { meaning: 'the spool key file cannot be read' },
  CODPOS_SPOOL_NOT_FOUND: { meaning: 'no spool database at the path: check data.dir, spool.file, --db' },
  CODPOS_SPOOL_NO_SUCH_RECORD: { meaning: 'no record or transaction with that id' },
  CODPOS_SPOOL_NO_VAULT: { meaning: 'card data was given to a spool opened without a key' },
  CODPOS_SPOOL_OFFLINE_BACKLOG: {
    meaning: 'too many or too old records waiting to be forwarded: no offline card payments',
  },
  CODPOS_SPOOL_OFFLINE_LIMIT: { meaning: 'the offline amount cap is reached: take cash or go online' },
  CODPOS_SPOOL_OPEN: { meaning: 'SQLite could not open the spool file (permissions, WAL refused)' },
  CODPOS_SPOOL_POLICY: { meaning: 'a bad stream policy override (the message names the option)' },
  CODPOS_SPOOL_TASKS: { meaning: 'the downloaded task list could not be stored' },
  CODPOS_SPOOL_TOO_NEW: { meaning: 'the database was written by a newer codpos: upgrade, or restore an older backup' },
  CODPOS_SPOOL_UNKNOWN_STREAM: { meaning: 'no such outbox stream' },
  CODPOS_SPOOL_UNKNOWN_TASK: { meaning: 'a task update names a task id the cached task list does not have' },
  CODPOS_SPOOL_UNSEAL: { meaning: 'a sealed value does not open (wrong key, altered or moved)' },
  CODPOS_SPOOL_WRITE: { meaning: 'a payment could not be journaled with its held reversal; nothing was sent' },

  // EMV: the card or the EMV kernel (exit 6)
  CODPOS_EMV_APDU: {
    meaning: 'a command to the card is shorter than its header, or the card answered without a status word',
  },
  CODPOS_EMV_BAD_AMOUNT: {
    meaning: 'an amount, currency exponent or sequence counter does not fit its BCD field (details.field)',
  },
  CODPOS_EMV_BAD_COMMAND: { meaning: 'a command to the card would carry more than 255 data bytes' },
  CODPOS_EMV_BAD_RESPONSE: { meaning: 'a card answer without status word, or endless 61xx/6Cxx' },
  CODPOS_EMV_BAD_TERMINAL: {
    meaning:
      'a terminal setting the kernel turns into a tag is malformed (time zone, merchant category code, IFD serial)',
  },
  CODPOS_EMV_BAD_TRACK: { meaning: 'a magnetic track or tag 57 does not parse' },
  CODPOS_EMV_BAD_TRANSACTION: {
    meaning:
      'a transaction field the kernel turns into a tag is malformed (currency, type, date, unpredictable number)',
  },
  CODPOS_EMV_CARD_NOT_POWERED: { meaning: 'a command was sent to a virtual card that is not powered' },
  CODPOS_EMV_CARD_REMOVED: { meaning: 'the card was pulled out of the reader during the transaction' },
  CODPOS_EMV_CHIP_MUTE: { meaning: 'the chip does not answer (at reset or mid-session): offer magstripe fallback' },
  CODPOS_EMV_CL_COMBINATION: {
    meaning: "a contactless combination's AID is not 5 to 16 bytes of hex, or names a kernel Entry Point was not given",
  },
  CODPOS_EMV_CL_NO_RESTART: {
    meaning: 'Entry Point was asked to retry or resume when the last outcome asked for neither',
  },
  CODPOS_EMV_DUPLICATE_DATA: { meaning: 'the card sent the same tag twice in its records' },
  CODPOS_EMV_NO_CARD: { meaning: 'no card is in the reader' },
  CODPOS_EMV_NO_CHIP: { meaning: 'the card has no chip (magstripe only)' },
  CODPOS_EMV_UNKNOWN_CARD: { meaning: 'no shipped virtual card profile of that name' },

  // DAEMON: the daemon cannot start or be reached (exit 7)
  CODPOS_DAEMON_ALREADY_RUNNING: { meaning: 'another daemon holds the lock on this data directory: stop it first' },
  CODPOS_DAEMON_API: { meaning: "the daemon's answer to a CLI command is not JSON, or is an error without a code" },
  CODPOS_DAEMON_API_IN_USE: { meaning: "another codposd answers on the local API's socket: stop it first" },
  CODPOS_DAEMON_API_LISTEN: { meaning: 'the local API cannot listen on its socket or port' },
  CODPOS_DAEMON_NOT_RUNNING: {
    meaning: 'no codposd answers on the local API socket: is it running? (systemctl status codposd)',
  },
  CODPOS_DAEMON_START_FAILED: { meaning: 'a service of the daemon failed to start (the message names it and why)' },

  // INTERNAL: a bug (exit 1, HTTP 500)
  CODPOS_INTERNAL_API: {
    meaning: 'a local API handler failed with an unexpected error: a bug, please report it with the log',
  },
  CODPOS_INTERNAL_DUKPT_REGISTER: {
    meaning: 'a DUKPT key register was empty where the algorithm guarantees a key: a bug',
  },
  CODPOS_INTERNAL_FLEET_COMMAND: {
    meaning: 'a fleet command failed with an unexpected error: a bug, please report it with the log',
  },
  CODPOS_INTERNAL_XOR_LENGTH: { meaning: 'two byte strings of different lengths were XORed: a bug' },
} as const satisfies Record<`CODPOS_${ErrorArea}_${string}`, ErrorCodeInfo>;
