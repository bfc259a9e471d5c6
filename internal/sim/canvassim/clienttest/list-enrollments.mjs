// Lists every enrollment of one course through @kth/canvas-api's pagination
// helper (it follows rel="next" in the Link header), so that a real
// third-party Canvas client checks the simulator's paging.
//
// usage: node list-enrollments.mjs <api-url> <token> <course-id> <per-page>
// prints one line: RESULT {"count":…,"unique":…,"pages":…}
import { CanvasApi } from "@kth/canvas-api";

const [apiUrl, token, courseId, perPage] = process.argv.slice(2);
if (!apiUrl || !token || !courseId || !perPage) {
  console.error("usage: node list-enrollments.mjs <api-url> <token> <course-id> <per-page>");
  process.exit(2);
}

const canvas = new CanvasApi(apiUrl, token);
// Every stored state, so the listing is complete (the default hides
// completed, rejected and deleted rows).
const state = ["active", "invited", "creation_pending", "deleted", "rejected", "completed", "inactive"];

let count = 0;
let pages = 0;
const ids = new Set();
for await (const page of canvas.listPages(`courses/${courseId}/enrollments`, { per_page: perPage, state })) {
  pages++;
  for (const enrollment of page.json) {
    count++;
    ids.add(enrollment.id);
  }
}
// The library prints a banner when it loads, so the answer is tagged.
console.log("RESULT " + JSON.stringify({ count, unique: ids.size, pages }));
