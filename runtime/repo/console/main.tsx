// The fleet console's entry: mounts the app into the page the repository serves at /.
import 'uplot/dist/uPlot.min.css';
import './console.css';
import { render } from 'preact';
import { App } from './app';

render(<App />, document.getElementById('app')!);
