package absorbsim

// Decisions where the sources are silent or UNCERTAIN (providers.md §2 and
// §5), so that a connector author can find each one in one place:
//
//   - Paths: every operation's path is in DefaultRoutes with its status; only
//     /authenticate, GET /users/{userId}/enrollments, GET
//     /courses/{courseId}/enrollments and GET
//     /users/{userId}/enrollments/{courseId} are confirmed (§2.3).
//   - Auth: a wrong password or private key is a 401 (§2.2 lists only
//     200/400/403); a missing, unknown, superseded or expired token is a 401
//     (§2.7). Any user of the data set may sign in with Config.Password, so
//     that the my-enrollments operations can act as a learner; the admin is
//     user 0 of the data set. x-api-version may be omitted; any value but "2"
//     is a 400.
//   - Errors: {code, message, term, validations, _meta} with code equal to
//     the HTTP status (the meaning of code is undocumented).
//   - Paging: `_limit` over 1000 or `_offset` over 65535 is refused, not
//     clamped. A bad paging, sort or filter parameter is a 400 by default;
//     Config.QueryErrorStatus makes it a 422, the only error seed 003 lists
//     for the paged lists. The default order is dateAdded then id, so rows created while
//     a client walks land on the last page; the vendor's own default order
//     is not documented.
//   - Filtering: field names are case-sensitive camelCase; string
//     comparison is ordinal (case-sensitive; use tolower/toupper); a GUID
//     field needs guid'…' and a date field datetime'…' (a plain string is a
//     400); null has no order (gt/lt with null are false). modifiedSince
//     means dateEdited > modifiedSince ("edited after").
//   - Times: UTC with a Z and whole seconds (the vendor may emit zone-less
//     local times, §2.6). timeSpent is a .NET TimeSpan "[d.]hh:mm:ss" (the
//     format is UNCERTAIN: .NET or ISO-8601).
//   - Create without reEnroll when a current row exists: 201 with the
//     existing enrollment id (the vendor might answer 400 or 422, §5 q6).
//     reEnroll keeps the old row as history with isActive=false and a new
//     dateEdited.
//   - Create-or-update: the body needs courseId; id and userId may identify
//     the row; any other property than the settable eight is a 400 naming
//     it; a wrong type is a 400; an out-of-range value (status outside
//     0–12, score outside 0–100, an unknown course version) is a 422; a
//     rejected body changes nothing.
//   - Un-enroll: all or nothing; success is 204 (200 or 204 is UNCERTAIN);
//     un-enrolled rows vanish from every route (they might instead remain
//     with some status, §5 q3).
//   - ILC: enrolling in another session of the same course moves the
//     session enrollment; cancelSession answers 201 with the cancelled
//     session enrollment's id. Instructor-led courses have sessions but no
//     chapters or lessons.
//   - Lessons: chapter and lesson enrollments are derived from the course
//     row until an attempt changes them. Starting an attempt is a 422 while
//     the course enrollment is pending approval, declined, waitlisted,
//     absent or not applicable; finishing needs status 1, 3 or 5 (names
//     assumed InProgress/Complete/Failed, §2.4) and a second finish of the
//     same attempt is a 422. Completing every lesson completes the course.
//   - Throttling: 429 in the vendor body with Retry-After (Config.RetryAfter,
//     default 1 s; NoRetryAfter drops it, since the header is UNCERTAIN).
