export function App() {
  return <main>Parley</main>;
}
