// Lets `import ... from "react"` (in use-async-job.js) find the UMD build this page loaded.
const React = window.React;
export const { useCallback, useEffect, useRef, useState } = React;
export default React;
