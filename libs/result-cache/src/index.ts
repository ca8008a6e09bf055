export type { PythonValue } from './python-pickle';
export { PythonDict, PythonException, PythonFloat, PythonTuple, pickleDumps } from './python-pickle';
