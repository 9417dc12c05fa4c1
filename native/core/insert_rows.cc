// Owns InsertRows requests (db.insertMany): one prepared single-row INSERT, bound and stepped
// once per row of a packed block of values (request.h: RowBlock; contract.h: ValueTag). The JS
// thread only packed the values; decoding, UTF-16 to UTF-8, binding and stepping happen here.
// See connection.h for the other parts.
//
// Every function here runs on the writer thread (the connection's worker).
#include <cmath>
#include <cstring>
#include <string>

#include "connection.h"

namespace litepool {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;
// Rows between two looks at cancellation, the engine's abort flag and the time slice (a one-row
// INSERT is too short for SQLite's progress handler to fire).
constexpr std::uint32_t kCheckEvery = 64;

// A block on its own is its own transaction, or a savepoint in one left open.
const std::string kBeginInsert = "BEGIN IMMEDIATE";
const std::string kCommitInsert = "COMMIT";
struct NestedInsert {
  const std::string open = "SAVEPOINT litepool_insert";
  const std::string release = "RELEASE litepool_insert";
  const std::string rollbackTo = "ROLLBACK TO litepool_insert";
};
const NestedInsert kNestedInsert;

// Writer thread (any thread: pure). Writes the UTF-8 form of `units` UTF-16 code units at `out`
// (room for 3 bytes per unit) and returns the bytes written. lib/ refused lone surrogates; one
// that got here anyway becomes U+FFFD rather than invalid UTF-8.
std::size_t toUtf8(const char16_t* units, std::size_t count, char* out) noexcept {
  char* const start = out;
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t c = units[i];
    if (c < 0x80) {
      *out++ = static_cast<char>(c);
      continue;
    }
    if (c < 0x800) {
      *out++ = static_cast<char>(0xC0 | (c >> 6));
      *out++ = static_cast<char>(0x80 | (c & 0x3F));
      continue;
    }
    if (c >= 0xD800 && c <= 0xDFFF) {
      const bool pair = c <= 0xDBFF && i + 1 < count && units[i + 1] >= 0xDC00 && units[i + 1] <= 0xDFFF;
      if (!pair) {
        c = 0xFFFD;
      } else {
        c = 0x10000 + ((c - 0xD800) << 10) + (units[++i] - 0xDC00);
        *out++ = static_cast<char>(0xF0 | (c >> 18));
        *out++ = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        *out++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        *out++ = static_cast<char>(0x80 | (c & 0x3F));
        continue;
      }
    }
    *out++ = static_cast<char>(0xE0 | (c >> 12));
    *out++ = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    *out++ = static_cast<char>(0x80 | (c & 0x3F));
  }
  return static_cast<std::size_t>(out - start);
}

// Writer thread (any thread: pure). A Text or Blob payload: its length, written as a float64.
std::size_t lengthOf(const std::uint64_t* payload) noexcept {
  double length;
  std::memcpy(&length, payload, 8);
  return length > 0 ? static_cast<std::size_t>(length) : 0;
}

// Writer thread. Gives the UTF-8 scratch of a block with a lot of text back when the block is done.
struct TrimScratch {
  std::string& scratch;
  ~TrimScratch() {
    if (scratch.size() > (std::size_t{4} << 20)) std::string().swap(scratch);
  }
};

// Writer thread. Names the failing row in the message SQLite gave.
void nameRow(Request& request, std::uint64_t row) {
  request.message = "rows[" + std::to_string(row) + "]: " + request.message;
}

}  // namespace

// Writer thread. Inside a transaction or lease (KeepTransaction: every block of a multi-block
// insertMany), the rows run in the open transaction, which lib/ commits or rolls back. On its own
// (an insertMany of one block), the block is its own transaction, BEGIN IMMEDIATE ... COMMIT (a
// savepoint inside one left open): every row or none.
void Connection::insertRows(Request& request) {
  if (transactionLost(request)) return;
  RunningRequest running(*this, &request);
  if (role_ == Role::Reader) {
    request.status = Status::NeedsWriter;
    return;
  }
  if (request.flags & RequestFlag::KeepTransaction) {
    insertBlock(request);
    return;
  }
  const bool nested = !sqlite3_get_autocommit(db_);
  if (!control(nested ? kNestedInsert.open : kBeginInsert, request)) return;
  if (insertBlock(request) && control(nested ? kNestedInsert.release : kCommitInsert, request)) return;
  // A failing row, or a failing COMMIT (control() reported it): nothing of the block stays.
  if (nested) {
    Request scratch;
    control(kNestedInsert.rollbackTo, scratch);
    control(kNestedInsert.release, scratch);
  } else {
    rollBackOpenTransaction();
  }
}

// Writer thread. Runs the block's rows through the request's INSERT in order, in the transaction
// that is open. Stops at the first failing row and reports it (false); what the earlier rows did
// stays for the caller to commit or roll back. Done: `changes` is the sum of each row's changes,
// `lastInsertRowid` the last row's.
bool Connection::insertBlock(Request& request) {
  StatementHandle statement;
  if (!prepare(request.sql, request, statement)) return false;
  if (statement->controlsTransaction) {
    setMisuse(request, "an InsertRows statement must not control transactions");
    return false;
  }
  sqlite3_stmt* stmt = statement.stmt();
  const RowBlock& block = request.block;
  const int columns = static_cast<int>(block.columns);
  const int expected = sqlite3_bind_parameter_count(stmt);
  if (expected != columns || block.columns == 0) {
    request.status = Status::BindFailed;
    request.message = "the statement takes " + std::to_string(expected) + " parameters, but each row has " +
                      std::to_string(block.columns) + " values";
    return false;
  }
  // Room for the UTF-8 form of every text value of the block at once (at most 3 bytes per UTF-16
  // unit), so that every bound pointer stays valid until its row has been stepped.
  if (utf8_.size() < block.text.size() * 3) utf8_.resize(block.text.size() * 3);
  const TrimScratch trim{utf8_};
  char* const utf8 = utf8_.data();
  std::size_t textAt = 0;   // next UTF-16 unit of block.text
  std::size_t utf8At = 0;   // next free byte of utf8
  std::size_t blobAt = 0;   // next byte of block.blobs
  const std::uint64_t* payload = block.payloads.data();
  const std::uint8_t* tag = block.tags.data();
  std::int64_t changes = 0;
  for (std::uint32_t row = 0; row < block.rows; ++row) {
    if (row % kCheckEvery == 0 && row != 0 && onProgress(this)) {
      request.status = Status::Cancelled;
      return false;
    }
    for (int column = 1; column <= columns; ++column, ++payload, ++tag) {
      int rc = SQLITE_OK;
      switch (static_cast<ValueTag>(*tag)) {
        case ValueTag::Number: {
          double number;
          std::memcpy(&number, payload, 8);
          // As db.run binds a number (convert.cc): -0 stays a REAL, it would lose its sign.
          if (std::trunc(number) == number && std::fabs(number) <= kMaxSafeInteger && !(number == 0 && std::signbit(number))) {
            rc = sqlite3_bind_int64(stmt, column, static_cast<sqlite3_int64>(number));
          } else {
            rc = sqlite3_bind_double(stmt, column, number);
          }
          break;
        }
        case ValueTag::Bigint: {
          std::int64_t integer;
          std::memcpy(&integer, payload, 8);
          rc = sqlite3_bind_int64(stmt, column, integer);
          break;
        }
        case ValueTag::Text: {
          const std::size_t units = lengthOf(payload);
          if (units > block.text.size() - textAt) {
            setMisuse(request, "the block's text is shorter than its values say");
            return false;
          }
          const std::size_t bytes = toUtf8(block.text.data() + textAt, units, utf8 + utf8At);
          rc = sqlite3_bind_text64(stmt, column, utf8 + utf8At, bytes, SQLITE_STATIC, SQLITE_UTF8);
          textAt += units;
          utf8At += bytes;
          break;
        }
        case ValueTag::Blob: {
          const std::size_t bytes = lengthOf(payload);
          if (bytes > block.blobs.size() - blobAt) {
            setMisuse(request, "the block's blobs are shorter than its values say");
            return false;
          }
          // As db.run binds an empty Uint8Array: an empty blob, not NULL.
          rc = bytes == 0 ? sqlite3_bind_zeroblob(stmt, column, 0)
                          : sqlite3_bind_blob64(stmt, column, block.blobs.data() + blobAt, bytes, SQLITE_STATIC);
          blobAt += bytes;
          break;
        }
        default:
          rc = sqlite3_bind_null(stmt, column);
          break;
      }
      if (rc != SQLITE_OK) {
        fail(request);
        nameRow(request, block.firstRow + row);
        return false;
      }
    }
    const int rc = stepToEnd(stmt, sqlite3_step(stmt));
    if (rc != SQLITE_DONE) {
      fail(request);
      if (request.status == Status::SqliteFailed) nameRow(request, block.firstRow + row);
      return false;
    }
    changes += sqlite3_changes64(db_);
    sqlite3_reset(stmt);
  }
  request.status = Status::Done;
  request.changes = changes;
  request.lastInsertRowid = sqlite3_last_insert_rowid(db_);
  return true;
}

}  // namespace litepool
