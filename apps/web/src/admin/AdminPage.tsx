export default function AdminPage() {
  return <main>Dashboard</main>;
}
