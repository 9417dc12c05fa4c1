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

// Rows per multi-row INSERT (fewer when many columns would pass SQLite's parameter limit).
constexpr std::uint32_t kGroupRows = 64;

// Writer thread. The multi-row form of lib/'s single-row INSERT (`INSERT INTO t (a, b) VALUES
// (?, ?)`): OR ABORT, and `rows` value tuples.
std::string multiRowSql(const std::string& single, std::uint32_t columns, std::uint32_t rows) {
  static const std::string kPrefix = "INSERT INTO ";
  std::string tuple = ", (?";
  for (std::uint32_t c = 1; c < columns; ++c) tuple += ", ?";
  tuple += ")";
  std::string sql = "INSERT OR ABORT INTO " + single.substr(single.compare(0, kPrefix.size(), kPrefix) == 0 ? kPrefix.size() : 0);
  sql.reserve(sql.size() + tuple.size() * rows);
  for (std::uint32_t r = 1; r < rows; ++r) sql += tuple;
  return sql;
}

// Writer thread. Names the failing row in the message SQLite gave.
void nameRow(Request& request, std::uint64_t row) {
  request.message = "rows[" + std::to_string(row) + "]: " + request.message;
}

// Writer thread. Reads a block's values in order and binds them, one row at a time.
class BlockReader {
 public:
  // Where the reader is: taken before a group, so that the group can be read again.
  struct Mark {
    std::size_t value, text, utf8, blob;
  };

  BlockReader(const RowBlock& block, char* utf8) noexcept : block_(block), utf8_(utf8) {}

  Mark mark() const noexcept { return {value_, text_, utf8At_, blob_}; }
  void rewind(const Mark& mark) noexcept {
    value_ = mark.value;
    text_ = mark.text;
    utf8At_ = mark.utf8;
    blob_ = mark.blob;
  }

  // Binds the next row's values to parameters offset + 1 ... offset + columns of `stmt`. False
  // when SQLite refuses one (the caller reports it) or the block is inconsistent (`request` says so).
  bool bindRow(sqlite3_stmt* stmt, std::uint32_t offset, Request& request) {
    for (std::uint32_t c = 1; c <= block_.columns; ++c, ++value_) {
      if (bindOne(stmt, static_cast<int>(offset + c), request) != SQLITE_OK) return false;
    }
    return true;
  }

 private:
  int bindOne(sqlite3_stmt* stmt, int index, Request& request) {
    const std::uint64_t* payload = block_.payloads.data() + value_;
    switch (static_cast<ValueTag>(block_.tags[value_])) {
      case ValueTag::Number: {
        double number;
        std::memcpy(&number, payload, 8);
        // As db.run binds a number (convert.cc): -0 stays a REAL, it would lose its sign.
        if (std::trunc(number) == number && std::fabs(number) <= kMaxSafeInteger && !(number == 0 && std::signbit(number))) {
          return sqlite3_bind_int64(stmt, index, static_cast<sqlite3_int64>(number));
        }
        return sqlite3_bind_double(stmt, index, number);
      }
      case ValueTag::Bigint: {
        std::int64_t integer;
        std::memcpy(&integer, payload, 8);
        return sqlite3_bind_int64(stmt, index, integer);
      }
      case ValueTag::Text: {
        const std::size_t units = lengthOf(payload);
        if (units > block_.text.size() - text_) return inconsistent(request, "text");
        const std::size_t bytes = toUtf8(block_.text.data() + text_, units, utf8_ + utf8At_);
        const int rc = sqlite3_bind_text64(stmt, index, utf8_ + utf8At_, bytes, SQLITE_STATIC, SQLITE_UTF8);
        text_ += units;
        utf8At_ += bytes;
        return rc;
      }
      case ValueTag::Blob: {
        const std::size_t bytes = lengthOf(payload);
        if (bytes > block_.blobs.size() - blob_) return inconsistent(request, "blobs");
        // As db.run binds an empty Uint8Array: an empty blob, not NULL.
        const int rc = bytes == 0 ? sqlite3_bind_zeroblob(stmt, index, 0)
                                  : sqlite3_bind_blob64(stmt, index, block_.blobs.data() + blob_, bytes, SQLITE_STATIC);
        blob_ += bytes;
        return rc;
      }
      default:
        return sqlite3_bind_null(stmt, index);
    }
  }

  // lib/ never sends such a block; refused rather than read past the end.
  static int inconsistent(Request& request, const char* what) {
    setMisuse(request, std::string("the block's ") + what + " is shorter than its values say");
    return SQLITE_MISUSE;
  }

  const RowBlock& block_;
  char* const utf8_;
  std::size_t value_ = 0;
  std::size_t text_ = 0;
  std::size_t utf8At_ = 0;
  std::size_t blob_ = 0;
};

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
//
// Rows go kGroupRows at a time through one multi-row `INSERT OR ABORT ... VALUES (...), (...)`
// when the block is large enough: one statement run per group instead of per row (about a third
// less CPU per row). OR ABORT makes any conflict undo the whole group, whatever the table's own
// ON CONFLICT clauses say; the group is then run again row by row through the request's own
// INSERT, so the table's clauses (IGNORE, REPLACE, FAIL...) apply exactly as they would to single
// rows and a failure names its row. (A group a trigger's RAISE(FAIL) left half done, or whose
// failure rolled the transaction back, is reported as failing without a row of its own: the
// caller rolls everything back in both cases.)
bool Connection::insertBlock(Request& request) {
  StatementHandle single;
  if (!prepare(request.sql, request, single)) return false;
  if (single->controlsTransaction) {
    setMisuse(request, "an InsertRows statement must not control transactions");
    return false;
  }
  const RowBlock& block = request.block;
  const int expected = sqlite3_bind_parameter_count(single.stmt());
  if (expected != static_cast<int>(block.columns) || block.columns == 0) {
    request.status = Status::BindFailed;
    request.message = "the statement takes " + std::to_string(expected) + " parameters, but each row has " +
                      std::to_string(block.columns) + " values";
    return false;
  }
  // Room for the UTF-8 form of every text value of the block at once (at most 3 bytes per UTF-16
  // unit), so that every bound pointer stays valid until its row has been stepped.
  if (utf8_.size() < block.text.size() * 3) utf8_.resize(block.text.size() * 3);
  const TrimScratch trim{utf8_};
  BlockReader reader(block, utf8_.data());

  StatementHandle multi;
  const std::uint32_t group = groupRows(block);
  if (group > 1) {
    Request scratch;
    if (!prepare(multiRowSql(request.sql, block.columns, group), scratch, multi)) multi.finish();
  }
  std::int64_t changes = 0;
  std::uint32_t singlesUntil = 0;  // rows before this one run alone (a group being run again)
  std::uint32_t checked = 0;
  for (std::uint32_t row = 0; row < block.rows;) {
    if (row - checked >= kCheckEvery) {
      checked = row;
      if (timeslice_) timeslice_->check();
      if (interruptRequested()) {
        request.status = Status::Cancelled;
        return false;
      }
    }
    if (multi && row >= singlesUntil && block.rows - row >= group) {
      sqlite3_stmt* stmt = multi.stmt();
      const BlockReader::Mark mark = reader.mark();
      for (std::uint32_t k = 0; k < group; ++k) {
        if (!reader.bindRow(stmt, k * block.columns, request)) return bindFailed(request, block.firstRow + row + k);
      }
      const int rc = stepToEnd(stmt, sqlite3_step(stmt));
      sqlite3_reset(stmt);
      if (rc == SQLITE_DONE) {
        changes += sqlite3_changes64(db_);
        row += group;
        continue;
      }
      if (sqlite3_get_autocommit(db_) || sqlite3_changes64(db_) != 0 || interruptRequested()) {
        fail(request);
        if (request.status == Status::SqliteFailed) {
          request.message = "rows[" + std::to_string(block.firstRow + row) + "] to rows[" +
                            std::to_string(block.firstRow + row + group - 1) + "]: " + request.message;
        }
        return false;
      }
      // Nothing of the group stayed: run it again row by row.
      reader.rewind(mark);
      singlesUntil = row + group;
      continue;
    }
    sqlite3_stmt* stmt = single.stmt();
    if (!reader.bindRow(stmt, 0, request)) return bindFailed(request, block.firstRow + row);
    const int rc = stepToEnd(stmt, sqlite3_step(stmt));
    if (rc != SQLITE_DONE) {
      fail(request);
      if (request.status == Status::SqliteFailed) nameRow(request, block.firstRow + row);
      return false;
    }
    changes += sqlite3_changes64(db_);
    sqlite3_reset(stmt);
    ++row;
  }
  request.status = Status::Done;
  request.changes = changes;
  request.lastInsertRowid = sqlite3_last_insert_rowid(db_);
  return true;
}

// Writer thread. A value of `row` did not bind: SQLite's refusal (a blob or text too big), unless
// the block itself was found inconsistent (already reported). Returns false.
bool Connection::bindFailed(Request& request, std::uint64_t row) {
  if (request.status == Status::Misuse) return false;
  fail(request);
  nameRow(request, row);
  return false;
}

// Writer thread. Rows per multi-row group for this block on this connection: kGroupRows, fewer
// when the columns are many (SQLite's limit on parameters), 0 when groups do not pay.
std::uint32_t Connection::groupRows(const RowBlock& block) {
  const int limit = sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1);
  const std::uint32_t fit = block.columns == 0 ? 0 : static_cast<std::uint32_t>(limit) / block.columns;
  const std::uint32_t group = fit < kGroupRows ? fit : kGroupRows;
  return group >= 2 && block.rows >= group ? group : 0;
}

}  // namespace litepool
